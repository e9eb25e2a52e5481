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
export function jwsFor(keys, algorithm) {
  const material = materialFor(keys, algorithm);
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
