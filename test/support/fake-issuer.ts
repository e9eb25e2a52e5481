import { afterEach, beforeEach } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose';
import { parseAuthorization, parseBasicCredentials } from '../../src/http/authorization.js';
import { json, startServer, type Handler, type TestServer } from './http-server.js';

/** The audience the resource server fixtures are configured with. */
export const AUDIENCE = 'https://api.test.example';

/**
 * The one client the fake issuer lets introspect; its secret needs form-encoding (RFC 6749 Appendix B), so a
 * client that skips it is refused.
 */
export const INTROSPECTOR = { clientId: 'reports-api', clientSecret: 'in:tro spect+%€' };

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
  /** Changes members of the RFC 8414 metadata; an undefined value removes the member. */
  updateMetadata(changes: Record<string, unknown>): void;
  introspectionUrl: string;
  /** How many times the introspection endpoint was called. */
  introspections(): number;
  /** What the introspection endpoint answers from now on (the RFC 7662 endpoint unless told otherwise). */
  answerIntrospection(handler: Handler): void;
  /** The introspection endpoint answers this token `{"active": false}` from now on. */
  revoke(token: string): void;
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
 * (`max-age=300` unless told otherwise), and `<issuer>/oauth2/introspect`, an RFC 7662 endpoint for
 * `INTROSPECTOR`. Anything else is a 404.
 */
export async function startFakeIssuer(path = ''): Promise<FakeIssuer> {
  const key = await signingKey('issuer-key-1');
  const revoked = new Set<string>();
  let jwks: Handler = json({ keys: [key.jwk] }, { 'cache-control': 'max-age=300' });
  let introspection: Handler = (req, res) => void introspect(req, res, key, revoked);
  let metadata: Record<string, unknown> = {};
  const server = await startServer((req, res) => {
    if (req.url === `/.well-known/oauth-authorization-server${path}`)
      return json(metadata)(req, res);
    if (req.url === `${path}/oauth2/jwks`) return jwks(req, res);
    if (req.url === `${path}/oauth2/introspect`) return introspection(req, res);
    res.writeHead(404).end();
  });
  const issuer = `${server.url}${path}`;
  const jwksUrl = `${issuer}/oauth2/jwks`;
  const introspectionUrl = `${issuer}/oauth2/introspect`;
  metadata = {
    issuer,
    jwks_uri: jwksUrl,
    token_endpoint: `${issuer}/oauth2/token`,
    introspection_endpoint: introspectionUrl,
    response_types_supported: [],
  };
  return {
    issuer,
    metadataUrl: `${server.url}/.well-known/oauth-authorization-server${path}`,
    jwksUrl,
    introspectionUrl,
    server,
    key,
    jwksFetches: () => server.requests.filter((url) => url === `${path}/oauth2/jwks`).length,
    answerJwks(handler) {
      jwks = handler;
    },
    publish(keys, cacheControl = 'max-age=300') {
      jwks = json({ keys }, { 'cache-control': cacheControl });
    },
    updateMetadata(changes) {
      metadata = { ...metadata, ...changes };
    },
    introspections: () =>
      server.requests.filter((url) => url === `${path}/oauth2/introspect`).length,
    answerIntrospection(handler) {
      introspection = handler;
    },
    revoke(token) {
      revoked.add(token);
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

/**
 * RFC 7662 §2: a POST by `INTROSPECTOR` (client_secret_basic, else 401 invalid_client); `{"active": false}`
 * for a token revoked, not signed by the issuer's key or expired; else `active` with the §2.2 members.
 */
async function introspect(
  req: IncomingMessage,
  res: ServerResponse,
  key: SigningKey,
  revoked: ReadonlySet<string>,
): Promise<void> {
  let body = '';
  for await (const chunk of req) body += chunk;
  const answer = (status: number, document: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(JSON.stringify(document));
  };
  let client: { clientId: string; clientSecret: string } | undefined;
  try {
    const authorization = parseAuthorization(req.headers.authorization);
    if (authorization?.scheme === 'basic')
      client = parseBasicCredentials(authorization.credentials);
  } catch {
    client = undefined;
  }
  if (
    req.method !== 'POST' ||
    client?.clientId !== INTROSPECTOR.clientId ||
    client.clientSecret !== INTROSPECTOR.clientSecret
  ) {
    return answer(401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="fake"' });
  }
  const token = new URLSearchParams(body).get('token') ?? '';
  try {
    if (revoked.has(token)) throw new Error('revoked');
    const { payload } = await jwtVerify(token, await importJWK(key.jwk, key.alg));
    const { scope, client_id, exp, iat, sub, aud, iss, jti } = payload;
    answer(200, {
      active: true,
      scope,
      client_id,
      token_type: 'Bearer',
      exp,
      iat,
      sub,
      aud,
      iss,
      jti,
    });
  } catch {
    answer(200, { active: false });
  }
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
