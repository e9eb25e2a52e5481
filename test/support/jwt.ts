import { createPublicKey, type KeyObject } from 'node:crypto';
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

/** Signs arbitrary header and claims, for tokens the guard must refuse. */
export function signRaw(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject,
  algorithm: jwt.Algorithm = 'ES256',
): string {
  return jwt.sign(payload, key, {
    algorithm,
    header: { alg: algorithm, ...header } as jwt.JwtHeader,
  });
}

/** An unsigned token (`alg: none`). */
export const unsignedJwt = (payload: Record<string, unknown>, typ = 'at+jwt'): string =>
  [{ alg: 'none', typ }, payload]
    .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
    .join('.') + '.';
