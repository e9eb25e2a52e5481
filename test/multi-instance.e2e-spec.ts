import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFresh, type FreshBuild } from './support/build.js';
import { runCapturing, tempDir } from './support/cli.js';
import { databases, type IsolatedDatabase } from './support/databases.js';
import { spawnExample, type ExampleProcess } from './support/example.js';
import { freePort } from './support/http-server.js';
import { decodeJwt } from './support/jwt.js';
import { KEK } from './support/key-store.js';
import { basicHeader, GRANT } from './support/oauth.js';
import { requireRedis, testRedisUrl, uniqueRedisPrefix } from './support/redis.js';
import { startRoundRobin, type RoundRobinBalancer, type Served } from './support/round-robin.js';
import { TcpProxy } from './support/tcp-proxy.js';

/**
 * Issue 11: three instances of the built example app, each its own process, on one PostgreSQL schema (clients
 * and signing keys) and one Redis key prefix, behind a round-robin balancer; the CLI changes the database and
 * announces through Redis. The instances reach Redis through a TCP proxy, so Redis can go away and come back.
 *
 * A bound under test ("within 1 s") is the deadline of a poll, never a measured duration: each instance is
 * asked directly until it answers as it must, and the test fails if a probe started after the deadline was
 * needed. Runs once (it is about processes, not the HTTP platform), only with both OAUTH2_TEST_POSTGRES_URL and
 * OAUTH2_TEST_REDIS_URL; either set but unreachable fails it.
 */

const postgres = databases.find((database) => database.name === 'postgres');
const enabled = postgres !== undefined && testRedisUrl !== undefined;

/** The issue's bound on a change reaching every instance through Redis. */
const PROPAGATION_MS = 1000;
/** OAUTH2_KEY_REFRESH_INTERVAL of the instances, in seconds: small, so the key test stays short. */
const KEY_REFRESH_INTERVAL = 2;
/** Each instance holds a command connection and a subscriber to Redis. */
const REDIS_CONNECTIONS_PER_INSTANCE = 2;
/** A generous bound on things the test does not measure: reconnection after an outage. */
const RECOVERY_DEADLINE_MS = 15_000;
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` until it holds. Fails when it still does not hold for a probe started at or after `deadline`
 * (a probe started before it may answer a moment after: the request was served when it was sent, or later).
 */
async function holdsBy(deadline: number, what: string, probe: () => Promise<boolean>) {
  for (;;) {
    const started = Date.now();
    if (await probe()) return;
    if (started >= deadline) throw new Error(`${what}: still not so at the deadline`);
    await sleep(20);
  }
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function post(url: string, body: string, authorization?: string): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(authorization ? { authorization } : {}),
    },
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: response.headers,
  };
}

interface Credentials {
  id: string;
  secret: string;
}

const tokenAt = (base: string, { id, secret }: Credentials) =>
  post(`${base}/oauth2/token`, GRANT, basicHeader(id, secret));

async function accessToken(base: string, client: Credentials): Promise<string> {
  const answer = await tokenAt(base, client);
  expect(answer.status).toBe(200);
  return answer.body.access_token as string;
}

/** The guarded route's status for `token`. */
async function whoami(base: string, token: string): Promise<number> {
  const response = await fetch(`${base}/api/whoami`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await response.arrayBuffer();
  return response.status;
}

(enabled ? describe : describe.skip)('three instances on one PostgreSQL and one Redis', () => {
  let build: FreshBuild | undefined;
  let cwd: ReturnType<typeof tempDir>;
  let database: IsolatedDatabase | undefined;
  let redisProxy: TcpProxy | undefined;
  let balancer: RoundRobinBalancer;
  let instances: ExampleProcess[] = [];
  let cliEnv: Record<string, string>;
  const keyPrefix = uniqueRedisPrefix();
  const clients: Record<string, Credentials> = {};
  /** The id of the second secret of `rotating`. */
  let rotatingSecretId: string;

  /** The CLI, in this process, announcing through Redis as an operator's would. */
  const cli = (...argv: string[]) => runCapturing(argv, cliEnv, cwd.path);
  async function cliJson<T>(...argv: string[]): Promise<T> {
    const result = await cli(...argv, '--json');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    return JSON.parse(result.stdout) as T;
  }
  async function createClient(id: string, ...options: string[]): Promise<void> {
    const created = await cliJson<{ client_secret?: string }>(
      'client',
      'create',
      '--id',
      id,
      ...options,
    );
    clients[id] = { id, secret: created.client_secret ?? '' };
  }
  /** Every instance, each asked directly, answers as `holds` says for a probe started within `ms` from now. */
  async function everyInstanceWithin(
    ms: number,
    what: string,
    holds: (base: string) => Promise<boolean>,
  ): Promise<void> {
    const deadline = Date.now() + ms;
    await Promise.all(
      instances.map((instance, index) =>
        holdsBy(deadline, `instance ${index}: ${what}`, () => holds(instance.url)),
      ),
    );
  }
  const introspect = (base: string, token: string) =>
    post(
      `${base}/oauth2/introspect`,
      `token=${token}`,
      basicHeader(clients.inspector.id, clients.inspector.secret),
    );
  const kidOf = (token: string) => decodeJwt(token).header.kid as string;
  /** Revokes `token` at whichever instance the balancer picks; every instance refuses it within 1 s. */
  async function revokeThroughBalancer(client: Credentials, token: string): Promise<void> {
    const revoked = await post(
      `${balancer.url}/oauth2/revoke`,
      `token=${token}`,
      basicHeader(client.id, client.secret),
    );
    expect(revoked.status).toBe(200);
    await everyInstanceWithin(
      PROPAGATION_MS,
      'the guard refuses the revoked token',
      async (base) => (await whoami(base, token)) === 401,
    );
  }

  beforeAll(async () => {
    await requireRedis();
    cwd = tempDir('oauth2-multi-');
    const redis = new URL(testRedisUrl!);
    [build, database, redisProxy] = await Promise.all([
      buildFresh('.tmp-multi-build-'),
      postgres!.create(),
      TcpProxy.start({ host: redis.hostname, port: Number(redis.port || 6379) }),
    ]);
    const shared = {
      DATABASE_URL: database.url,
      OAUTH2_REDIS_KEY_PREFIX: keyPrefix,
      OAUTH2_KEY_ENCRYPTION_KEY: KEK,
      OAUTH2_JWKS_MAX_AGE: '0',
      OAUTH2_KEY_REFRESH_INTERVAL: String(KEY_REFRESH_INTERVAL),
    };
    // The CLI reaches Redis directly: the outage below is the instances' alone.
    cliEnv = { ...shared, REDIS_URL: testRedisUrl! };

    // Tables and a first key before any instance starts, so that no two instances race to create them.
    expect((await cli('migrate')).code).toBe(0);
    expect((await cli('keys', 'generate', '--activate')).code).toBe(0);
    await createClient('inspector', '--scope', 'introspect');
    for (const id of ['revoker', 'rotating', 'doomed', 'target', 'steady']) await createClient(id);
    const added = await cliJson<{ secretId: string; secret: string }>(
      'client',
      'secret',
      'add',
      'rotating',
    );
    clients.rotatingSecond = { id: 'rotating', secret: added.secret };
    rotatingSecretId = added.secretId;
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    signerKey = privateKey;
    const jwk = { ...(await exportJWK(publicKey)), kid: 'signer-1', alg: 'ES256', use: 'sig' };
    writeFileSync(join(cwd.path, 'signer.json'), JSON.stringify({ keys: [jwk] }));
    await createClient('signer', '--auth-method', 'private_key_jwt', '--jwks-file', 'signer.json');

    const ports = await Promise.all([0, 1, 2].map(() => freePort()));
    balancer = await startRoundRobin(ports);
    const instanceRedis = new URL(testRedisUrl!);
    instanceRedis.host = `127.0.0.1:${redisProxy.port}`;
    const main = join(build.outDir, 'example', 'main.js');
    const started = await Promise.allSettled(
      ports.map((port) =>
        spawnExample(
          main,
          { ...shared, REDIS_URL: instanceRedis.href, OAUTH2_ISSUER: balancer.url },
          { cwd: cwd.path, port },
        ),
      ),
    );
    // The ones that started are stopped in afterAll, whichever failed.
    instances = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    for (const result of started) if (result.status === 'rejected') throw result.reason;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await balancer?.close();
    await redisProxy?.close();
    await database?.drop();
    build?.remove();
    cwd?.remove();
    const redis = new Redis(testRedisUrl!);
    try {
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  }, 60_000);

  let signerKey: CryptoKey;

  test('the balancer sends each request to the next instance', async () => {
    const from = balancer.served.length;
    for (let i = 0; i < 3; i++) await accessToken(balancer.url, clients.steady);
    const served = balancer.served
      .slice(from)
      .map(({ instance, status }) => ({ instance, status }));
    expect(served.map(({ status }) => status)).toEqual([200, 200, 200]);
    expect(new Set(served.map(({ instance }) => instance))).toEqual(new Set([0, 1, 2]));
  });

  test('a token revoked through one instance is refused by all three within 1 s', async () => {
    const token = await accessToken(balancer.url, clients.revoker);
    for (const instance of instances) expect(await whoami(instance.url, token)).toBe(200);

    await revokeThroughBalancer(clients.revoker, token);
    for (const instance of instances) {
      expect((await introspect(instance.url, token)).body).toEqual({ active: false });
    }
  });

  test('a secret revoked through the CLI is refused by all three within 1 s', async () => {
    // Each instance caches the client with both secrets.
    for (const instance of instances) {
      expect((await tokenAt(instance.url, clients.rotatingSecond)).status).toBe(200);
    }
    const result = await cli('client', 'secret', 'revoke', 'rotating', rotatingSecretId);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    await everyInstanceWithin(
      PROPAGATION_MS,
      'the revoked secret is refused',
      async (base) => (await tokenAt(base, clients.rotatingSecond)).status === 401,
    );
    // Only that secret: the client's other one still works everywhere.
    for (const instance of instances) {
      expect((await tokenAt(instance.url, clients.rotating)).status).toBe(200);
    }
  });

  test('a client disabled through the CLI is refused by all three within 1 s, and so is its token', async () => {
    const token = await accessToken(balancer.url, clients.doomed);
    for (const instance of instances) {
      expect((await tokenAt(instance.url, clients.doomed)).status).toBe(200);
      expect(await whoami(instance.url, token)).toBe(200);
      expect((await introspect(instance.url, token)).body).toMatchObject({
        active: true,
        client_id: 'doomed',
      });
    }
    const result = await cli('client', 'disable', 'doomed');
    expect(result).toEqual({ code: 0, stdout: "Disabled client 'doomed'.\n", stderr: '' });
    await everyInstanceWithin(
      PROPAGATION_MS,
      'the disabled client gets no token',
      async (base) => (await tokenAt(base, clients.doomed)).status === 401,
    );
    await everyInstanceWithin(
      PROPAGATION_MS,
      "the guard refuses the client's token",
      async (base) => (await whoami(base, token)) === 401,
    );
    await everyInstanceWithin(
      PROPAGATION_MS,
      "introspection calls the client's token inactive",
      async (base) => JSON.stringify((await introspect(base, token)).body) === '{"active":false}',
    );
  });

  test('failed authentications count across instances: spread round-robin, they reach 429 on every one', async () => {
    const wrong = { id: clients.target.id, secret: 'not-the-secret' };
    const from = balancer.served.length;
    // maxFailures (20) failures at once, spread over the three: no instance sees more than 7 of them itself,
    // so counts kept per instance would only delay the next attempt, never refuse it.
    const failures = await Promise.all(
      Array.from({ length: 20 }, () => tokenAt(balancer.url, wrong)),
    );
    expect(failures.map(({ status }) => status)).toEqual(Array(20).fill(401));
    const perInstance = [0, 1, 2].map(
      (index) => balancer.served.slice(from).filter(({ instance }) => instance === index).length,
    );
    expect([...perInstance].sort()).toEqual([6, 7, 7]);

    for (const instance of instances) {
      const refused = await tokenAt(instance.url, wrong);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });

  test('a private_key_jwt assertion used at one instance is refused (replay) at the others', async () => {
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({
      iss: 'signer',
      sub: 'signer',
      aud: balancer.url,
      iat: now,
      exp: now + 60,
      jti: randomUUID(),
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'signer-1' })
      .sign(signerKey);
    const body = `${GRANT}&client_assertion_type=${encodeURIComponent(JWT_BEARER)}&client_assertion=${assertion}`;
    const [first, ...others] = instances;
    expect((await post(`${first.url}/oauth2/token`, body)).status).toBe(200);
    for (const instance of others) {
      const replayed = await post(`${instance.url}/oauth2/token`, body);
      expect(replayed.status).toBe(401);
      expect(replayed.body.error).toBe('invalid_client');
    }
  });

  test('a key activated through the CLI signs on every instance within keyRefreshInterval', async () => {
    const before = kidOf(await accessToken(balancer.url, clients.steady));
    const { kid } = await cliJson<{ kid: string }>('keys', 'generate');
    expect(kid).not.toBe(before);
    const activated = await cli('keys', 'activate', '--force', '--', kid);
    expect(activated.code).toBe(0);
    await everyInstanceWithin(
      KEY_REFRESH_INTERVAL * 1000,
      'tokens are signed with the activated key',
      async (base) => kidOf(await accessToken(base, clients.steady)) === kid,
    );
  });

  test('Redis cut and restored mid-traffic: no 5xx, and a revocation propagates again within 1 s', async () => {
    const connections = REDIS_CONNECTIONS_PER_INSTANCE * instances.length;
    await holdsBy(
      Date.now() + RECOVERY_DEADLINE_MS,
      'every instance connected to Redis',
      async () => redisProxy!.openConnections === connections,
    );
    const token = await accessToken(balancer.url, clients.steady);
    const answers: { phase: string; status: number }[] = [];
    let phase = 'before';
    let running = true;
    let outage: Served[] = [];
    const traffic = Array.from({ length: 3 }, async () => {
      while (running) {
        const current = phase;
        answers.push({
          phase: current,
          status: (await tokenAt(balancer.url, clients.steady)).status,
        });
        answers.push({ phase: current, status: await whoami(balancer.url, token) });
      }
    });
    try {
      await sleep(300);
      phase = 'outage';
      await redisProxy!.cut();
      const outageFrom = balancer.served.length;
      await sleep(2000);
      outage = balancer.served.slice(outageFrom);
      phase = 'restored';
      redisProxy!.restore();
      await holdsBy(
        Date.now() + RECOVERY_DEADLINE_MS,
        'every instance reconnected to Redis',
        async () => redisProxy!.openConnections >= connections,
      );
      await sleep(300);
    } finally {
      running = false;
      await Promise.all(traffic);
    }
    for (const current of ['before', 'outage', 'restored']) {
      expect(answers.filter((answer) => answer.phase === current).length).toBeGreaterThan(6);
    }
    expect(answers.filter(({ status }) => status !== 200)).toEqual([]);
    // Every instance served requests while Redis was away.
    expect(new Set(outage.map(({ instance }) => instance))).toEqual(new Set([0, 1, 2]));
    for (const instance of instances) {
      expect(instance.output()).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ is unavailable/);
      expect(instance.output()).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ is back after/);
    }

    await revokeThroughBalancer(clients.steady, token);
  });

  test('no instance logged an error, a secret or a token', () => {
    for (const instance of instances) {
      const output = instance.output();
      expect(output).not.toMatch(/\bERROR\b|\n\s+at /);
      const secrets = Object.values(clients).map(({ secret }) => secret);
      expect(secrets.filter((secret) => secret && output.includes(secret))).toEqual([]);
      expect(output).not.toMatch(/eyJ[\w-]+\.eyJ/);
    }
  });
});
