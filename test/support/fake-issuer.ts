import { afterEach, beforeEach } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { json, startServer, type Handler, type TestServer } from './http-server.js';

/** The audience the resource server fixtures are configured with. */
export const AUDIENCE = 'https://api.test.example';

export interface SigningKey {
  kid: string;
  alg: string;
  /** A private key, or an HMAC secret. */
  privateKey: CryptoKey | Uint8Array;
  /** The public JWK as the issuer publishes it (kid, alg, use). */
  jwk: JWK;
}

export async function signingKey(
  kid: string,
  alg: 'ES256' | 'RS256' = 'ES256',
): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export interface FakeIssuer {
  /** The issuer identifier (the server's origin, plus the path it was started with). */
  issuer: string;
  metadataUrl: string;
  jwksUrl: string;
  server: TestServer;
  /** How many times the JWK Set was fetched. */
  jwksFetches(): number;
  /** What the JWKS URL answers from now on. */
  answerJwks(handler: Handler): void;
  /** Publishes these keys (the issuer starts publishing its own key). */
  publish(keys: unknown[], cacheControl?: string): void;
  /** An RFC 9068 access token signed with the issuer's key, or with `with`; claims and header overridable. */
  sign(
    claims?: Record<string, unknown>,
    header?: Record<string, unknown>,
    with_?: SigningKey,
  ): Promise<string>;
  key: SigningKey;
  close(): Promise<void>;
}

/**
 * An authorization server as a resource server sees it: RFC 8414 metadata at
 * `/.well-known/oauth-authorization-server<path>` naming `<issuer>/oauth2/jwks`, which serves its JWK Set
 * (`max-age=300` unless told otherwise). Anything else is a 404.
 */
export async function startFakeIssuer(path = ''): Promise<FakeIssuer> {
  const key = await signingKey('issuer-key-1');
  let jwks: Handler = json({ keys: [key.jwk] }, { 'cache-control': 'max-age=300' });
  let metadata: Handler = () => undefined;
  const server = await startServer((req, res) => {
    if (req.url === `/.well-known/oauth-authorization-server${path}`) return metadata(req, res);
    if (req.url === `${path}/oauth2/jwks`) return jwks(req, res);
    res.writeHead(404).end();
  });
  const issuer = `${server.url}${path}`;
  const jwksUrl = `${issuer}/oauth2/jwks`;
  metadata = json({
    issuer,
    jwks_uri: jwksUrl,
    token_endpoint: `${issuer}/oauth2/token`,
    response_types_supported: [],
  });
  return {
    issuer,
    metadataUrl: `${server.url}/.well-known/oauth-authorization-server${path}`,
    jwksUrl,
    server,
    key,
    jwksFetches: () => server.requests.filter((url) => url === `${path}/oauth2/jwks`).length,
    answerJwks(handler) {
      jwks = handler;
    },
    publish(keys, cacheControl = 'max-age=300') {
      jwks = json({ keys }, { 'cache-control': cacheControl });
    },
    async sign(claims = {}, header = {}, with_ = key) {
      const now = Math.floor(Date.now() / 1000);
      return (
        new SignJWT({
          iss: issuer,
          sub: 'testclient',
          aud: AUDIENCE,
          client_id: 'testclient',
          scope: 'reports:read reports:write',
          jti: randomUUID(),
          iat: now,
          exp: now + 600,
          ...claims,
        })
          .setProtectedHeader({ alg: with_.alg, typ: 'at+jwt', kid: with_.kid, ...header })
          // A crit header names extensions the signer must accept as understood.
          .sign(with_.privateKey, {
            crit: Object.fromEntries(((header.crit as string[]) ?? []).map((name) => [name, true])),
          })
      );
    },
    close: () => server.close(),
  };
}

/** A fresh fake issuer for each test, closed after it. */
export function useFakeIssuer(): () => FakeIssuer {
  let issuer: FakeIssuer | undefined;
  beforeEach(async () => {
    issuer = await startFakeIssuer();
  });
  afterEach(async () => {
    await issuer?.close();
  });
  return () => {
    if (issuer === undefined) throw new Error('the fake issuer did not start');
    return issuer;
  };
}
