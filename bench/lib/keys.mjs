// Key material and a minimal JWS (RFC 7515 compact) implementation on node:crypto alone: what the reference
// issuer and verifier use, and what every server under test is configured with, so all sign with the same keys.
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  timingSafeEqual,
  verify,
  constants,
} from 'node:crypto';

/** Fresh key material for one run: PEM for asymmetric algorithms, base64url for HMAC secrets. */
export function generateKeyMaterial() {
  const pem = (pair) => pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return {
    HS256: { secret: randomBytes(32).toString('base64url') },
    ES256: { privateKey: pem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' })) },
    RS256: { privateKey: pem(generateKeyPairSync('rsa', { modulusLength: 2048 })) },
    PS256: null, // shares the RS256 key (a plain RSA key serves RS* and PS* alike)
    // The private_key_jwt client's own key: it signs assertions, the server holds only its public half.
    client: { privateKey: pem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' })) },
  };
}

export function materialFor(keys, algorithm) {
  return algorithm === 'PS256' ? keys.RS256 : keys[algorithm];
}

/** The library's signing options for an algorithm, from the run's key material. */
export function signingOptions(keys, algorithm) {
  const material = materialFor(keys, algorithm);
  return algorithm.startsWith('HS')
    ? { algorithm, secret: Buffer.from(material.secret, 'base64url') }
    : { algorithm, privateKey: material.privateKey };
}

/** RFC 7638 JWK thumbprint, computed as the library does (its default `kid`). */
export function jwkThumbprint(publicKey) {
  const jwk = publicKey.export({ format: 'jwk' });
  const members =
    jwk.kty === 'EC'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** KeyObjects built once, and sign/verify functions for the compact serialization. */
export function jwsFor(keys, algorithm, material = materialFor(keys, algorithm)) {
  if (algorithm === 'HS256') {
    const key = createSecretKey(Buffer.from(material.secret, 'base64url'));
    const mac = (input) => createHmac('sha256', key).update(input).digest();
    return {
      kid: undefined,
      sign: (input) => mac(input).toString('base64url'),
      verify: (input, signature) => {
        const expected = mac(input);
        const actual = Buffer.from(signature, 'base64url');
        return actual.length === expected.length && timingSafeEqual(actual, expected);
      },
    };
  }
  const privateKey = createPrivateKey(material.privateKey);
  const publicKey = createPublicKey(privateKey);
  const options = {
    ES256: { dsaEncoding: 'ieee-p1363' },
    RS256: {},
    PS256: {
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    },
  }[algorithm];
  return {
    kid: jwkThumbprint(publicKey),
    privateJwk: privateKey.export({ format: 'jwk' }),
    sign: (input) =>
      sign('sha256', Buffer.from(input), { key: privateKey, ...options }).toString('base64url'),
    verify: (input, signature) =>
      verify(
        'sha256',
        Buffer.from(input),
        { key: publicKey, ...options },
        Buffer.from(signature, 'base64url'),
      ),
  };
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * A private_key_jwt client's token requests (RFC 7523 §2.2): each call returns the form body with a freshly
 * signed ES256 assertion and a new jti, since the server accepts each assertion once. Signed by the caller (the
 * load generator) per request, as a real client does.
 */
export function clientAssertionBodies({ keys, clientId, audience, body }) {
  const jws = jwsFor(keys, 'ES256', keys.client);
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = part({ alg: 'ES256', kid: jws.kid });
  const prefix = `${body}&client_assertion_type=${encodeURIComponent(JWT_BEARER)}&client_assertion=`;
  const run = randomBytes(6).toString('base64url');
  let counter = 0;
  return () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: clientId, sub: clientId, aud: audience, iat: now, exp: now + 60 };
    const input = `${header}.${part({ ...claims, jti: `${run}-${++counter}` })}`;
    return `${prefix}${input}.${jws.sign(input)}`;
  };
}

/** The client's public JWK Set, as registered with the server (its kid is the RFC 7638 thumbprint). */
export function clientJwks(keys) {
  const jws = jwsFor(keys, 'ES256', keys.client);
  const publicKey = createPublicKey(createPrivateKey(keys.client.privateKey));
  return {
    keys: [{ ...publicKey.export({ format: 'jwk' }), kid: jws.kid, alg: 'ES256', use: 'sig' }],
  };
}

/**
 * `count` access tokens as our issuer signs them (RFC 9068: header alg, typ at+jwt, kid when the key has one;
 * claims iss, sub, aud, client_id, scope, jti, iat, exp = iat + 3600), each with its own jti: the guarded-route
 * rows present them in turn, so a verified-token cache smaller than the pool never holds the next one.
 */
export function accessTokens(keys, algorithm, { issuer, audience, count }) {
  const jws = jwsFor(keys, algorithm);
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = part({ alg: algorithm, typ: 'at+jwt', ...(jws.kid ? { kid: jws.kid } : {}) });
  const iat = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, () => {
    const input = `${header}.${part({
      iss: issuer,
      sub: 'bench-client',
      aud: audience,
      client_id: 'bench-client',
      scope: 'bench:read',
      jti: randomUUID(),
      iat,
      exp: iat + 3600,
    })}`;
    return `${input}.${jws.sign(input)}`;
  });
}
