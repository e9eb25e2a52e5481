import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

export const decodeJwt = (token: string): DecodedJwt => {
  const [header, payload] = token
    .split('.', 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
  return { header, payload };
};

/**
 * Verifies a token the way an independent resource server would, with only the public key (given, or derived
 * from the private one). Throws unless the signature and the time claims hold.
 */
export const verifyWithPublicKey = (
  token: string,
  key: KeyObject,
  algorithm: jwt.Algorithm = 'ES256',
) =>
  jwt.verify(token, key.type === 'private' ? createPublicKey(key) : key, {
    algorithms: [algorithm],
  });

/** Verifies an HS256 token with the shared secret. Throws unless the signature and the time claims hold. */
export const verifyWithSecret = (token: string, secret: string) =>
  jwt.verify(token, secret, { algorithms: ['HS256'] });

/**
 * Signs arbitrary header and claims, for tokens the guard must refuse. A private key's token names it by its
 * RFC 7638 thumbprint, the module's default `kid`, unless the header says otherwise.
 */
export function signRaw(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject,
  algorithm: jwt.Algorithm = 'ES256',
): string {
  const kid = key.type === 'private' ? { kid: rfc7638Thumbprint(createPublicKey(key)) } : {};
  return jwt.sign(payload, key, {
    algorithm,
    header: { alg: algorithm, ...kid, ...header } as jwt.JwtHeader,
  });
}

/** An unsigned token (`alg: none`). */
export const unsignedJwt = (payload: Record<string, unknown>, typ = 'at+jwt'): string =>
  [{ alg: 'none', typ }, payload]
    .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
    .join('.') + '.';

/**
 * RFC 7638 JWK thumbprint, computed here independently of the library: the required members of the key type
 * (§3.2: EC crv, kty, x, y; RSA e, kty, n) in lexicographic order, as JSON without white space, SHA-256,
 * base64url.
 */
export function rfc7638Thumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const required = jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : ['e', 'kty', 'n'];
  const canonical = `{${required.map((name) => `"${name}":"${jwk[name]}"`).join(',')}}`;
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}
