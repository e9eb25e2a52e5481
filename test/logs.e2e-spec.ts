import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { exportJWK, exportPKCS8, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import {
  ClientSecretHasher,
  OAuthClient,
  oauth2Entities,
  TypeOrmOAuthClientRepository,
} from '../src/index.js';
import { buildFresh, repo, type FreshBuild } from './support/build.js';
import { tempDir } from './support/cli.js';
import { spawnExample, type ExampleProcess } from './support/example.js';
import { freePort } from './support/http-server.js';
import { basicHeader } from './support/oauth.js';
import { requireRedis, testRedisUrl, uniqueRedisPrefix } from './support/redis.js';
import { TcpProxy } from './support/tcp-proxy.js';

/**
 * Issue 12, logs a platform can ingest: the built example app runs as a process of its own with
 * LOG_FORMAT=json through start-up, token success and failures, private_key_jwt, the guard, revocation,
 * introspection (and a Redis outage with OAUTH2_TEST_REDIS_URL). Every line it writes must be one JSON object;
 * every line of the module (an `OAuth2*` context) and of the example (`Example*`) must carry an `event` the
 * README ("Logs") documents; and no line may hold a secret, a hash, a pepper, a key encryption key, an
 * assertion, private key material or a token.
 */

const DEMO = { id: 'testclient', secret: 'testpass' };
const WRONG_SECRET = `wrong-${randomBytes(12).toString('hex')}`;
const PEPPER = randomBytes(32).toString('hex');
const INTROSPECTOR = { id: 'introspector', secret: randomBytes(24).toString('base64url') };
const PK_CLIENT = 'pk-client';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const GRANT = 'grant_type=client_credentials';
/** Reconnection after an outage is not what is measured: a generous bound. */
const RECOVERY_DEADLINE_MS = 15_000;

/** Every event name in the README's "Logs" section. */
function documentedEvents(): Set<string> {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const start = readme.indexOf('### Logs');
  const end = readme.indexOf('\n## ', start);
  expect(start).toBeGreaterThan(0);
  const section = readme.slice(start, end);
  return new Set([...section.matchAll(/`((?:oauth2|example)\.[a-z_.]+)`/g)].map((m) => m[1]));
}

interface JsonLine {
  level: string;
  context?: string;
  message: string;
  event?: string;
  [field: string]: unknown;
}

/** Every line of the output, each parsed as one JSON object (the test fails on a line that is not). */
function parseLines(output: string): JsonLine[] {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as JsonLine;
      } catch {
        throw new Error(`a log line that is not JSON: ${line}`);
      }
    });
}

/** The lines of the module and of the example app: each carries a documented event. */
function expectStructured(lines: JsonLine[], documented: Set<string>): void {
  const ours = lines.filter((line) => /^(OAuth2|Example)/.test(line.context ?? ''));
  expect(ours.length).toBeGreaterThan(0);
  const undocumented = ours
    .filter((line) => line.event === undefined || !documented.has(line.event))
    .map((line) => `${line.context} ${line.event}: ${line.message}`);
  expect(undocumented).toEqual([]);
}

/**
 * What must never appear in a log line, with a name for the failure message: neither whole nor in part (any
 * 16 characters of a long value, so a cut or quoted piece of a token or a hash is found too).
 */
function expectNoneOf(output: string, secrets: Record<string, string>): void {
  const pieces = (value: string) => {
    if (value.length < 24) return [value];
    const found: string[] = [];
    for (let at = 0; at + 16 <= value.length; at += 8) found.push(value.slice(at, at + 16));
    return [...found, value.slice(-16)];
  };
  const found = Object.entries(secrets)
    .filter(([, value]) => value.length >= 6)
    .filter(([, value]) => pieces(value).some((piece) => output.includes(piece)))
    .map(([name]) => name);
  expect(found).toEqual([]);
}

interface ClientKey {
  privateKey: CryptoKey;
  jwk: Record<string, unknown>;
  d: string;
  pem: string;
}

async function clientKey(kid: string): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const pem = await exportPKCS8(privateKey);
  return {
    privateKey,
    jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' },
    d: String(privateJwk.d),
    pem: pem.split('\n')[1],
  };
}

async function assertion(issuer: string, key: ClientKey, kid: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: PK_CLIENT, sub: PK_CLIENT, aud: issuer, jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(key.privateKey);
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function post(
  url: string,
  body: string,
  authorization?: string,
  contentType = 'application/x-www-form-urlencoded',
): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      ...(authorization === undefined ? {} : { authorization }),
    },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Answer['body']) };
}

async function get(url: string, token: string): Promise<number> {
  return (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status;
}

/** Adds the test's clients to the example's SQLite database, as the CLI would. */
async function addClients(databaseFile: string, pkJwk: Record<string, unknown>): Promise<void> {
  const [clientEntity, , secretEntity] = oauth2Entities();
  const dataSource = new DataSource({
    type: 'better-sqlite3',
    database: databaseFile,
    entities: oauth2Entities(),
  });
  await dataSource.initialize();
  try {
    const clients = new TypeOrmOAuthClientRepository(
      dataSource.getRepository(clientEntity),
      dataSource.getRepository(secretEntity),
    );
    const hasher = new ClientSecretHasher({ pepper: PEPPER });
    await clients.save(
      OAuthClient.create({
        clientId: INTROSPECTOR.id,
        clientSecret: await hasher.hash(INTROSPECTOR.secret),
        grantTypes: 'client_credentials',
        scope: 'introspect',
      }),
    );
    await clients.save(
      OAuthClient.create({
        clientId: PK_CLIENT,
        grantTypes: 'client_credentials',
        scope: 'reports:read',
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: JSON.stringify({ keys: [pkJwk] }),
      }),
    );
  } finally {
    await dataSource.destroy();
  }
}

/** The stored secrets: the hashes, the sealed signing keys and the development key encryption key. */
async function storedSecrets(cwd: string): Promise<Record<string, string>> {
  const dataSource = new DataSource({
    type: 'better-sqlite3',
    database: join(cwd, 'data/oauth2.sqlite'),
    readonly: true,
  });
  await dataSource.initialize();
  try {
    const rows = async (sql: string): Promise<[string, string][]> =>
      ((await dataSource.query(sql)) as { name: string; value: string | null }[]).flatMap(
        ({ name, value }) => (value ? [[name, value] as [string, string]] : []),
      );
    const entries = [
      ...(await rows(
        "SELECT 'hash of ' || client_id AS name, client_secret AS value FROM oauth_clients",
      )),
      ...(await rows(
        "SELECT 'secret hash ' || id AS name, secret_hash AS value FROM oauth_client_secrets",
      )),
      ...(await rows(
        "SELECT 'sealed key ' || kid AS name, sealed_private_key AS value FROM oauth_signing_keys",
      )),
    ];
    const kek = readFileSync(join(cwd, 'data/dev-key-encryption-key'), 'utf8').trim();
    return { ...Object.fromEntries(entries), 'development key encryption key': kek };
  } finally {
    await dataSource.destroy();
  }
}

let build: FreshBuild;
let documented: Set<string>;

beforeAll(async () => {
  documented = documentedEvents();
  build = await buildFresh('.tmp-logs-build-');
}, 120_000);

afterAll(() => build?.remove());

describe('the example app with LOG_FORMAT=json', () => {
  const cwd = tempDir('oauth2-logs-');
  let app: ExampleProcess;
  let issuer: string;
  let output = '';
  const secrets: Record<string, string> = {
    'the demo secret': DEMO.secret,
    'a wrong secret': WRONG_SECRET,
    'the pepper': PEPPER,
    "the introspector's secret": INTROSPECTOR.secret,
  };

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    app = await spawnExample(
      join(build.outDir, 'example/main.js'),
      { LOG_FORMAT: 'json', OAUTH2_SECRET_PEPPER: PEPPER, OAUTH2_ISSUER: issuer },
      { cwd: cwd.path, port },
    );
    const key = await clientKey('pk-1');
    const other = await clientKey('pk-1');
    secrets["the client's private key (d)"] = key.d;
    secrets["the client's private key (PEM)"] = key.pem;
    secrets['another private key (d)'] = other.d;
    await addClients(join(cwd.path, 'data/oauth2.sqlite'), key.jwk);

    const token = (body: string, authorization?: string) =>
      post(`${issuer}/oauth2/token`, body, authorization);
    const demo = basicHeader(DEMO.id, DEMO.secret);

    // Success, and each kind of failure of the token endpoint.
    const issued = await token(GRANT, demo);
    expect(issued.status).toBe(200);
    const accessToken = String(issued.body.access_token);
    secrets['an access token'] = accessToken;
    secrets["an access token's signature"] = accessToken.split('.')[2];
    expect((await token(GRANT, basicHeader(DEMO.id, WRONG_SECRET))).status).toBe(401);
    expect((await token(GRANT, basicHeader('nobody', WRONG_SECRET))).status).toBe(401);
    expect((await token(GRANT, 'Basic !!!')).status).toBe(400);
    expect((await token(GRANT)).status).toBe(401);
    expect((await token('grant_type=password', demo)).status).toBe(400);
    expect((await token(`${GRANT}&scope=admin`, demo)).status).toBe(400);
    expect((await post(`${issuer}/oauth2/token`, '{"a":', demo, 'application/json')).status).toBe(
      400,
    );

    // private_key_jwt (RFC 7523): accepted once, its replay and a foreign signature refused.
    const signed = await assertion(issuer, key, 'pk-1');
    secrets['an assertion'] = signed;
    secrets["an assertion's signature"] = signed.split('.')[2];
    const withAssertion = (jwt: string) =>
      `${GRANT}&client_assertion_type=${encodeURIComponent(JWT_BEARER)}&client_assertion=${jwt}`;
    const pkIssued = await token(withAssertion(signed));
    expect(pkIssued.status).toBe(200);
    secrets['a private_key_jwt token'] = String(pkIssued.body.access_token);
    expect((await token(withAssertion(signed))).status).toBe(401);
    const forged = await assertion(issuer, other, 'pk-1');
    secrets['a forged assertion'] = forged;
    expect((await token(withAssertion(forged))).status).toBe(401);

    // The guard, introspection (RFC 7662) and revocation (RFC 7009).
    expect(await get(`${issuer}/api/whoami`, accessToken)).toBe(200);
    expect(await get(`${issuer}/api/whoami`, `${accessToken}x`)).toBe(401);
    const introspector = basicHeader(INTROSPECTOR.id, INTROSPECTOR.secret);
    const introspect = (authorization: string) =>
      post(`${issuer}/oauth2/introspect`, `token=${accessToken}`, authorization);
    expect((await introspect(introspector)).body.active).toBe(true);
    expect((await introspect(demo)).status).toBeGreaterThanOrEqual(400);
    expect((await post(`${issuer}/oauth2/revoke`, `token=${accessToken}`, demo)).status).toBe(200);
    expect(await get(`${issuer}/api/whoami`, accessToken)).toBe(401);
    expect((await introspect(introspector)).body.active).toBe(false);

    Object.assign(secrets, await storedSecrets(cwd.path));
    await app.stop();
    output = app.output();
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    cwd.remove();
  });

  test('every line is one JSON object, and every line of ours carries a documented event', () => {
    const lines = parseLines(output);
    expect(lines.length).toBeGreaterThan(20);
    expectStructured(lines, documented);
    // Nest's own lines are there too, in the same format.
    expect(lines.some((line) => line.context === 'NestApplication')).toBe(true);
  });

  test('the start-up line says what was configured', () => {
    const startup = parseLines(output).filter((line) => line.event === 'oauth2.startup.configured');
    expect(startup).toHaveLength(1);
    expect(startup[0]).toMatchObject({
      level: 'log',
      context: 'OAuth2',
      issuer,
      tokenPath: '/oauth2/token',
      jwksPath: '/oauth2/jwks',
      revocationPath: '/oauth2/revoke',
      introspectionPath: '/oauth2/introspect',
      keySource: 'custom-key-store',
      keyStore: 'TypeOrmOAuth2KeyStore',
      algorithms: ['RS256'],
      clientStorage: 'typeorm',
      clientTable: 'oauth_clients',
      databaseDriver: 'better-sqlite3',
      store: 'memory',
      throttling: true,
      clientCacheTtl: 5,
    });
    expect(startup[0].kids).toEqual([startup[0].activeKid]);
    expect(startup[0].clientAuthMethods).toEqual(
      expect.arrayContaining(['client_secret_basic', 'private_key_jwt']),
    );
  });

  test('no secret, hash, pepper, key encryption key, assertion, private key or token in any line', () => {
    expect(Object.keys(secrets).length).toBeGreaterThan(12);
    expectNoneOf(output, secrets);
    expect(output).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
    expect(output).not.toMatch(/"d":"/);
  });
});

const describeRedis = testRedisUrl === undefined ? describe.skip : describe;

describeRedis('the example app on Redis with LOG_FORMAT=json, through an outage', () => {
  const cwd = tempDir('oauth2-logs-redis-');
  let app: ExampleProcess;
  let proxy: TcpProxy;
  let output = '';
  const secrets: Record<string, string> = {
    'the demo secret': DEMO.secret,
    'a wrong secret': WRONG_SECRET,
  };

  beforeAll(async () => {
    await requireRedis();
    const redis = new URL(testRedisUrl!);
    proxy = await TcpProxy.start({ host: redis.hostname, port: Number(redis.port || 6379) });
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const proxied = new URL(testRedisUrl!);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    app = await spawnExample(
      join(build.outDir, 'example/main.js'),
      {
        LOG_FORMAT: 'json',
        OAUTH2_ISSUER: issuer,
        REDIS_URL: proxied.href,
        OAUTH2_REDIS_KEY_PREFIX: uniqueRedisPrefix(),
      },
      { cwd: cwd.path, port },
    );
    const demo = basicHeader(DEMO.id, DEMO.secret);
    const issued = await post(`${issuer}/oauth2/token`, GRANT, demo);
    expect(issued.status).toBe(200);
    await proxy.cut();
    // Each store on its fallback: throttle counts, replay claims, revocations (503 while away).
    expect(
      (await post(`${issuer}/oauth2/token`, GRANT, basicHeader(DEMO.id, WRONG_SECRET))).status,
    ).toBe(401);
    const revoked = await post(
      `${issuer}/oauth2/revoke`,
      `token=${issued.body.access_token}`,
      demo,
    );
    expect(revoked.status).toBe(503);
    proxy.restore();
    const deadline = Date.now() + RECOVERY_DEADLINE_MS;
    while (!app.output().includes('"event":"oauth2.redis.reconnected"')) {
      if (Date.now() > deadline) throw new Error(`Redis never came back:\n${app.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await app.stop();
    output = app.output();
    Object.assign(secrets, {
      'an access token': String(issued.body.access_token),
      ...(await storedSecrets(cwd.path)),
    });
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await proxy?.close();
    cwd.remove();
  });

  test('the outage is told in structured lines: unavailable, each fallback once, back', () => {
    const lines = parseLines(output);
    expectStructured(lines, documented);
    const events = lines.map((line) => line.event);
    for (const event of [
      'oauth2.redis.connected',
      'oauth2.redis.unavailable',
      'oauth2.redis.degraded',
      'oauth2.redis.reconnected',
    ]) {
      expect(events).toContain(event);
    }
    const startup = lines.find((line) => line.event === 'oauth2.startup.configured');
    expect(startup).toMatchObject({ store: 'redis', redis: expect.stringMatching(/^redis:\/\//) });
    expect(lines.filter((line) => line.event === 'oauth2.redis.unavailable')).toHaveLength(1);
  });

  test('no secret, hash, key encryption key or token in any line', () => {
    expectNoneOf(output, secrets);
  });
});
