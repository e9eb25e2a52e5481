import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import request from 'supertest';
import type { DataSource, DataSourceOptions } from 'typeorm';
import {
  OAuth2ChangeFeed,
  OAuth2RevocationStore,
  OAuthClient,
  OAuthClientRepository,
  type OAuth2ModuleOptions,
} from '../src/index.js';
import { seedClients, startApp } from './support/app.js';
import { ISSUER } from './support/fixtures.js';
import { decodeJwt } from './support/jwt.js';
import { eventually, keyStoreApp, openAdmin, storeOf } from './support/key-store.js';
import { CapturingLogger } from './support/logger.js';
import { basicHeader, GRANT, tokenRequest } from './support/oauth.js';
import { requireRedis, testRedisUrl, uniqueRedisPrefix } from './support/redis.js';
import { TcpProxy } from './support/tcp-proxy.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const seconds = () => Math.floor(Date.now() / 1000);

/**
 * Two instances of the module in one process, an Express one (A) and a Fastify one (B), on one SQLite file
 * (clients and keys) and one Redis prefix; B reaches Redis through a TCP proxy, so its Redis can go away.
 * The key ring reloads only every hour and the client cache keeps entries a minute: what shows within 1 s
 * came through Redis. Without OAUTH2_TEST_REDIS_URL this suite does not run (the in-memory stores are
 * covered by src/redis/store-contracts.spec.ts).
 */
(testRedisUrl ? describe : describe.skip)('two instances sharing state through store.redis', () => {
  let dir: string;
  let database: DataSourceOptions;
  let admin: DataSource;
  let proxy: TcpProxy;
  let a: INestApplication;
  let b: INestApplication;
  const logsOfB = new CapturingLogger();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  let clientKey: { privateKey: CryptoKey; jwk: Record<string, unknown> };

  const assertion = (clientId: string) =>
    new SignJWT({
      iss: clientId,
      sub: clientId,
      aud: ISSUER,
      exp: seconds() + 60,
      jti: randomUUID(),
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'pk-1' })
      .sign(clientKey.privateKey);
  const withAssertion = (app: INestApplication, signed: string) =>
    tokenRequest(app).send(
      `${GRANT}&client_assertion_type=${encodeURIComponent(JWT_BEARER)}&client_assertion=${signed}`,
    );
  const withSecret = (app: INestApplication, clientId: string, secret: string) =>
    tokenRequest(app).set('authorization', basicHeader(clientId, secret)).send(GRANT);

  // revocationPath is a module-level setting; forRoot takes it beside the options.
  const options = (url: string, keyPrefix: string) =>
    ({
      revocationPath: 'oauth2/revoke',
      store: { redis: { url, keyPrefix, commandTimeoutMs: 300 } },
      keyRefreshInterval: 3600,
      clientCache: { ttl: 60 },
      clientAuthThrottle: {
        window: 60,
        freeFailures: 2,
        maxFailures: 3,
        maxDelayMs: 10,
        maxFailuresPerClient: 100,
      },
    }) as Partial<OAuth2ModuleOptions>;
  const revoke = (app: INestApplication, token: string) =>
    request(app.getHttpServer())
      .post('/oauth2/revoke')
      .set('authorization', basicHeader('alice', 'testpass'))
      .type('form')
      .send({ token });
  const whoami = (app: INestApplication, token: string) =>
    request(app.getHttpServer()).get('/api/whoami').set('authorization', `Bearer ${token}`);

  beforeAll(async () => {
    await requireRedis();
    process.on('unhandledRejection', onUnhandled);
    dir = mkdtempSync(join(tmpdir(), 'oauth2-shared-'));
    database = { type: 'better-sqlite3', database: join(dir, 'oauth2.sqlite') };
    admin = await openAdmin(database);
    await storeOf(admin).generate('ES256', { activate: true });
    const target = new URL(testRedisUrl!);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
    const proxied = new URL(testRedisUrl!);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    const keyPrefix = uniqueRedisPrefix();
    a = await startApp(keyStoreApp(database, options(testRedisUrl!, keyPrefix)));
    b = await startApp(keyStoreApp(database, options(proxied.href, keyPrefix)), {
      platform: 'fastify',
      logger: logsOfB,
    });
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    clientKey = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: 'pk-1', alg: 'ES256' } };
    await seedClients(a, [
      { clientId: 'alice', secret: 'testpass', grantTypes: 'client_credentials' },
      { clientId: 'bob', secret: 'testpass', grantTypes: 'client_credentials' },
      { clientId: 'carol', secret: 'testpass', grantTypes: 'client_credentials' },
    ]);
    await a.get(OAuthClientRepository).save(
      OAuthClient.create({
        clientId: 'pk',
        grantTypes: 'client_credentials',
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: JSON.stringify({ keys: [clientKey.jwk] }),
      }),
    );
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await proxy?.close();
    await admin?.destroy();
    process.off('unhandledRejection', onUnhandled);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('failed authentications count across instances', async () => {
    expect((await withSecret(a, 'bob', 'wrong')).status).toBe(401);
    expect((await withSecret(b, 'bob', 'wrong')).status).toBe(401);
    expect((await withSecret(a, 'bob', 'wrong')).status).toBe(401);
    // Three failures from this address, two of them on A: B refuses the next attempt.
    const refused = await withSecret(b, 'bob', 'testpass');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
  });

  test('an assertion accepted by one instance is refused by the other', async () => {
    const signed = await assertion('pk');
    expect((await withAssertion(a, signed)).status).toBe(200);
    const replayed = await withAssertion(b, signed);
    expect(replayed.status).toBe(401);
    expect(replayed.body.error).toBe('invalid_client');
  });

  test("a client disabled through one instance is refused by the other's cache within 1 s", async () => {
    expect((await withSecret(b, 'carol', 'testpass')).status).toBe(200);
    const clients = a.get(OAuthClientRepository);
    const carol = (await clients.findById('carol'))!;
    carol.disabled = true;
    await clients.save(carol);
    await eventually(
      async () => expect((await withSecret(b, 'carol', 'testpass')).status).toBe(401),
      1000,
    );
  });

  test('a revocation made on one instance is in the other copy within 1 s', async () => {
    const token = decodeJwt((await withSecret(a, 'alice', 'testpass')).body.access_token).payload;
    const subject = { jti: token.jti as string, clientId: 'alice', issuedAt: token.iat as number };
    expect(b.get(OAuth2RevocationStore).isRevoked(subject)).toBe(false);
    await a.get(OAuth2RevocationStore).revoke({
      kind: 'token',
      jti: subject.jti,
      expiresAt: (token.exp as number) * 1000,
    });
    await eventually(
      async () => expect(b.get(OAuth2RevocationStore).isRevoked(subject)).toBe(true),
      1000,
    );
  });

  test("a token revoked through one instance's endpoint is refused by the other's guard within 1 s", async () => {
    const token = (await withSecret(a, 'alice', 'testpass')).body.access_token as string;
    expect((await whoami(b, token)).status).toBe(200);
    expect((await revoke(a, token)).status).toBe(200);
    await eventually(async () => expect((await whoami(b, token)).status).toBe(401), 1000);
  });

  test('a key activated elsewhere is used by both once the keys change is announced', async () => {
    const next = await storeOf(admin).generate('ES256', { activate: true });
    const kidOf = async (app: INestApplication) =>
      decodeJwt((await withSecret(app, 'alice', 'testpass')).body.access_token).header.kid;
    // Reloads are an hour apart: nothing shows the new key before the announcement.
    expect(await kidOf(b)).not.toBe(next.kid);
    await a.get(OAuth2ChangeFeed).publish({ type: 'keys' });
    await eventually(async () => expect(await kidOf(b)).toBe(next.kid), 1000);
    expect(await kidOf(a)).toBe(next.kid);
    const jwks = await request(b.getHttpServer()).get('/oauth2/jwks');
    expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).toContain(next.kid);
  });

  test('Redis going away under B: no 5xx, revocation refused, claims kept, state resynced on return', async () => {
    const revocations = b.get(OAuth2RevocationStore);
    const heldOnB = await assertion('pk');
    await proxy.cut();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await withSecret(b, 'alice', 'testpass')).status);
      statuses.push((await withSecret(b, 'dave', 'wrong')).status);
    }
    statuses.push((await withAssertion(b, heldOnB)).status);
    // Refused by B itself even though Redis never heard of it.
    statuses.push((await withAssertion(b, heldOnB)).status);
    // Tokens issued; failures throttled from this instance's own counts (429 after three); the assertion
    // accepted once, its replay refused.
    expect(statuses).toEqual([200, 401, 200, 401, 200, 401, 200, 429, 200, 429, 200, 401]);
    // The revocation endpoint cannot make a revocation durable: 503, the token stays valid (RFC 7009 §2.2.1).
    const kept = (await withSecret(b, 'alice', 'testpass')).body.access_token as string;
    const refused = await revoke(b, kept);
    expect(refused.status).toBe(503);
    expect(refused.body.error).toBe('server_error');
    expect(refused.headers['retry-after']).toBeDefined();
    expect((await whoami(b, kept)).status).toBe(200);
    await expect(
      revocations.revoke({ kind: 'token', jti: 'during', expiresAt: Date.now() + 60_000 }),
    ).rejects.toThrow(/Redis at redis:\/\/127\.0\.0\.1:\d+ is unavailable/);
    // Revoked on A meanwhile: B learns it when Redis is back.
    await a.get(OAuth2RevocationStore).revoke({
      kind: 'token',
      jti: 'meanwhile',
      expiresAt: Date.now() + 60_000,
    });

    proxy.restore();
    const meanwhile = { jti: 'meanwhile', clientId: 'x', issuedAt: seconds() };
    await eventually(async () => expect(revocations.isRevoked(meanwhile)).toBe(true), 5000);
    // The assertion B accepted during the outage reached Redis: A refuses it.
    await eventually(async () => expect((await withAssertion(a, heldOnB)).status).toBe(401), 5000);
    expect((await withSecret(b, 'alice', 'testpass')).status).toBe(200);

    const said = logsOfB.lines.map((line) => line.message);
    expect(said.filter((line) => /^Redis at .* is unavailable/.test(line))).toHaveLength(1);
    expect(said.filter((line) => /^Redis at .* is back after/.test(line))).toHaveLength(1);
    expect(unhandled).toEqual([]);
  });
});
