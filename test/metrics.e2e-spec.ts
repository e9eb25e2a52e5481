import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createPublicKey } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import request from 'supertest';
import {
  OAuth2Metrics,
  OAuth2ResourceServerModule,
  OAuth2Revocations,
  type OAuth2ResourceServerOptions,
  type OAuth2Verifier,
} from '../src/index.js';
import { platforms, seedClients, startApp } from './support/app.js';
import { AUDIENCE, INTROSPECTOR, useFakeIssuer, type FakeIssuer } from './support/fake-issuer.js';
import { fixtures, testOptions, tokenClaims } from './support/fixtures.js';
import { freePort } from './support/http-server.js';
import { rfc7638Thumbprint, signRaw } from './support/jwt.js';
import { es256, otherEs256 } from './support/keys.js';
import { InstalledMeterProvider } from './support/metrics.js';
import { basicHeader, CLIENTS, tokenRequest } from './support/oauth.js';
import { requireRedis, testRedisUrl, uniqueRedisPrefix } from './support/redis.js';
import { resourceControllers } from './support/resource.controller.js';

const VERIFICATIONS = 'oauth2.token.verifications';
const JWKS_FETCH = 'oauth2.jwks.fetch.duration';
const STORE = 'oauth2.revocation_store.operation.duration';
/** The app without TypeORM: the module's own in-memory repository. */
const inMemory = fixtures.find((fixture) => fixture.name === 'custom repository')!;

/** The verification counts of `verifier`, by outcome (only the outcomes recorded). */
async function verifications(
  provider: InstalledMeterProvider,
  verifier: OAuth2Verifier,
): Promise<Record<string, unknown>> {
  const metric = (await provider.collect()).get(VERIFICATIONS);
  return Object.fromEntries(
    (metric?.points ?? [])
      .filter((point) => point.attributes['oauth2.verifier'] === verifier)
      .map((point) => [point.attributes['oauth2.outcome'], point.value]),
  );
}

/** A histogram's point count by `oauth2.outcome` (and operation, when given). */
async function counts(
  provider: InstalledMeterProvider,
  name: string,
  operation?: string,
): Promise<Record<string, number>> {
  const metric = (await provider.collect()).get(name);
  return Object.fromEntries(
    (metric?.points ?? [])
      .filter(
        (point) => operation === undefined || point.attributes['oauth2.operation'] === operation,
      )
      .map((point) => [
        point.attributes['oauth2.outcome'],
        (point.value as { count: number }).count,
      ]),
  );
}

describe.each(platforms)(
  'metrics of OAuth2Module and its guard, on an OpenTelemetry SDK (%s)',
  (platform) => {
    let provider: InstalledMeterProvider;
    let app: INestApplication;

    beforeAll(async () => {
      // As an app does: the SDK first, then the Nest app.
      provider = InstalledMeterProvider.install();
      app = await startApp(inMemory.metadata(testOptions()), { platform });
      await seedClients(app, [CLIENTS.test]);
    });
    afterAll(async () => {
      await app?.close();
      await provider?.uninstall();
    });

    const token = async (scope = 'reports:read reports:write') => {
      const res = await tokenRequest(app)
        .set('Authorization', basicHeader('testclient', 'testpass'))
        .send(`grant_type=client_credentials&scope=${encodeURIComponent(scope)}`);
      expect(res.status).toBe(200);
      return res.body.access_token as string;
    };
    const call = (value?: string, path = '/api/whoami') => {
      const req = request(app.getHttpServer()).get(path);
      return value === undefined ? req : req.set('Authorization', `Bearer ${value}`);
    };

    test('each outcome of the guard is counted once, under verifier "local"', async () => {
      const kid = rfc7638Thumbprint(createPublicKey(es256.privateKey));
      const revoked = await token();
      await app.get(OAuth2Revocations).revokeToken('testclient', revoked);
      const before = await verifications(provider, 'local');
      expect(before).toEqual({});

      expect((await call(await token())).status).toBe(200);
      expect((await call()).status).toBe(401);
      expect((await call('not-a-jwt')).status).toBe(401);
      // Signed by another key under our kid: the signature fails.
      expect(
        (await call(signRaw({ typ: 'at+jwt', kid }, tokenClaims(), otherEs256.privateKey))).status,
      ).toBe(401);
      const past = Math.floor(Date.now() / 1000) - 3600;
      expect(
        (
          await call(
            signRaw(
              { typ: 'at+jwt' },
              tokenClaims({ iat: past - 60, exp: past }),
              es256.privateKey,
            ),
          )
        ).status,
      ).toBe(401);
      expect((await call(revoked)).status).toBe(401);
      expect(
        (
          await call(
            signRaw({ typ: 'at+jwt', kid: 'no-such-key' }, tokenClaims(), es256.privateKey),
          )
        ).status,
      ).toBe(401);
      const readOnly = await token('reports:read');
      expect(
        (
          await request(app.getHttpServer())
            .post('/api/reports')
            .set('Authorization', `Bearer ${readOnly}`)
        ).status,
      ).toBe(403);

      expect(await verifications(provider, 'local')).toEqual({
        valid: 1,
        missing: 1,
        malformed: 1,
        invalid: 1,
        expired: 1,
        revoked: 1,
        unknown_key: 1,
        insufficient_scope: 1,
      });
    });

    test('a token sent two ways (RFC 6750 §2) is malformed; a token of the wrong type is invalid', async () => {
      const good = await token();
      const before = await verifications(provider, 'local');
      const res = await call(good, `/api/whoami?access_token=${good}`);
      expect(res.status).toBe(400);
      // RFC 9068 §4: typ must be at+jwt.
      expect((await call(signRaw({ typ: 'JWT' }, tokenClaims(), es256.privateKey))).status).toBe(
        401,
      );
      const after = await verifications(provider, 'local');
      expect(after.malformed).toBe((before.malformed as number) + 1);
      expect(after.invalid).toBe((before.invalid as number) + 1);
    });

    test('the module provides the OpenTelemetry implementation, and the token endpoint is no verification', async () => {
      expect(app.get(OAuth2Metrics).constructor).not.toBe(OAuth2Metrics);
      const before = await verifications(provider, 'local');
      await token();
      expect(await verifications(provider, 'local')).toEqual(before);
    });
  },
);

describe('metrics of OAuth2ResourceServerModule, on an OpenTelemetry SDK', () => {
  const fakeIssuer = useFakeIssuer();
  let issuer: FakeIssuer;
  let provider: InstalledMeterProvider;
  let app: INestApplication | undefined;

  beforeEach(() => {
    issuer = fakeIssuer();
    provider = InstalledMeterProvider.install();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await provider.uninstall();
  });

  async function start(options: Partial<OAuth2ResourceServerOptions> = {}): Promise<void> {
    app = await startApp(
      {
        imports: [
          OAuth2ResourceServerModule.forRoot({
            issuer: issuer.issuer,
            audience: AUDIENCE,
            jwksUri: issuer.jwksUrl,
            ...options,
          }),
        ],
        controllers: resourceControllers,
      },
      { platform: 'fastify' },
    );
  }
  const call = (token: string, path = '/api/whoami') =>
    request(app?.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`);

  test('JWKS: each outcome once under verifier "jwks", and the one key fetch counted ok', async () => {
    await start();
    expect(app?.get(OAuth2Metrics).constructor).not.toBe(OAuth2Metrics);
    const now = Math.floor(Date.now() / 1000);
    const other = await (await import('./support/fake-issuer.js')).signingKey('issuer-key-1');
    expect((await call(await issuer.sign())).status).toBe(200);
    expect((await call('not-a-jwt')).status).toBe(401);
    expect((await call(await issuer.sign({}, {}, other))).status).toBe(401);
    expect((await call(await issuer.sign({ iat: now - 7200, exp: now - 3600 }))).status).toBe(401);
    expect((await call(await issuer.sign({}, { kid: 'unknown-kid' }))).status).toBe(401);
    expect((await call(await issuer.sign({ scope: 'reports:read' }), '/api/archive')).status).toBe(
      200,
    );
    const post = await request(app?.getHttpServer())
      .post('/api/reports')
      .set('Authorization', `Bearer ${await issuer.sign({ scope: 'reports:read' })}`);
    expect(post.status).toBe(403);

    expect(await verifications(provider, 'jwks')).toEqual({
      valid: 2,
      malformed: 1,
      invalid: 1,
      expired: 1,
      unknown_key: 1,
      insufficient_scope: 1,
    });
    // The unknown kid asked for a refetch, which the cooldown refused: one fetch in all.
    expect(issuer.jwksFetches()).toBe(1);
    expect(await counts(provider, JWKS_FETCH)).toEqual({ ok: 1 });
    const fetched = (await provider.collect()).get(JWKS_FETCH);
    expect(fetched?.unit).toBe('s');
    expect((fetched?.points[0]?.value as { sum: number }).sum).toBeGreaterThan(0);
  });

  test('JWKS unreachable: the fetch counted error, the token unavailable (503)', async () => {
    await start({ jwksUri: `http://127.0.0.1:${await freePort()}/jwks` });
    const res = await call(await issuer.sign());
    expect(res.status).toBe(503);
    expect(await counts(provider, JWKS_FETCH)).toEqual({ error: 1 });
    expect(await verifications(provider, 'jwks')).toEqual({ unavailable: 1 });
  });

  test('JWKS too slow: the fetch counted timeout', async () => {
    const held: ServerResponse[] = [];
    // Never answers in time: the fetch's time limit ends it.
    issuer.answerJwks((_req, res) => void held.push(res));
    await start({ fetchTimeoutMs: 200 });
    expect((await call(await issuer.sign())).status).toBe(503);
    expect(await counts(provider, JWKS_FETCH)).toEqual({ timeout: 1 });
    const point = (await provider.collect()).get(JWKS_FETCH)?.points[0];
    expect((point?.value as { sum: number }).sum).toBeGreaterThanOrEqual(0.19);
    for (const res of held) res.end();
  });

  test('introspection: valid, revoked at the issuer, and unavailable, under verifier "introspection"', async () => {
    await start({ introspection: { ...INTROSPECTOR, endpoint: issuer.introspectionUrl } });
    expect((await call(await issuer.sign())).status).toBe(200);
    const revoked = await issuer.sign();
    issuer.revoke(revoked);
    expect((await call(revoked)).status).toBe(401);
    const now = Math.floor(Date.now() / 1000);
    // The local checks come first: an expired token is expired, with no call.
    expect((await call(await issuer.sign({ iat: now - 7200, exp: now - 3600 }))).status).toBe(401);
    issuer.answerIntrospection((_req, res) => {
      res.writeHead(500).end();
    });
    expect((await call(await issuer.sign())).status).toBe(503);
    expect(await verifications(provider, 'introspection')).toEqual({
      valid: 1,
      revoked: 1,
      expired: 1,
      unavailable: 1,
    });
    expect(await verifications(provider, 'jwks')).toEqual({});
  });
});

describe('without an OpenTelemetry SDK', () => {
  const fakeIssuer = useFakeIssuer();

  test('OAuth2Module and its guard work, on the no-op metrics, which a later SDK does not see', async () => {
    const app = await startApp(inMemory.metadata(testOptions()), { platform: 'fastify' });
    const provider = InstalledMeterProvider.install();
    try {
      expect(app.get(OAuth2Metrics).constructor).toBe(OAuth2Metrics);
      await seedClients(app, [CLIENTS.test]);
      const res = await tokenRequest(app)
        .set('Authorization', basicHeader('testclient', 'testpass'))
        .send('grant_type=client_credentials');
      expect(res.status).toBe(200);
      const ok = await request(app.getHttpServer())
        .get('/api/whoami')
        .set('Authorization', `Bearer ${res.body.access_token}`);
      expect(ok.status).toBe(200);
      expect((await request(app.getHttpServer()).get('/api/whoami')).status).toBe(401);
      expect([...(await provider.collect()).keys()]).toEqual([]);
    } finally {
      await app.close();
      await provider.uninstall();
    }
  });

  test('OAuth2ResourceServerModule works, on the no-op metrics', async () => {
    const issuer = fakeIssuer();
    const app = await startApp({
      imports: [
        OAuth2ResourceServerModule.forRoot({
          issuer: issuer.issuer,
          audience: AUDIENCE,
          jwksUri: issuer.jwksUrl,
        }),
      ],
      controllers: resourceControllers,
    });
    try {
      expect(app.get(OAuth2Metrics).constructor).toBe(OAuth2Metrics);
      const res = await request(app.getHttpServer())
        .get('/api/whoami')
        .set('Authorization', `Bearer ${await issuer.sign()}`);
      expect(res.status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

(testRedisUrl ? describe : describe.skip)(
  'revocation store reloads on Redis, on an OpenTelemetry SDK',
  () => {
    let provider: InstalledMeterProvider;
    beforeEach(() => {
      provider = InstalledMeterProvider.install();
    });
    afterEach(() => provider.uninstall());

    const startWithRedis = (url: string) =>
      startApp(
        inMemory.metadata(
          testOptions({
            store: { redis: { url, keyPrefix: uniqueRedisPrefix(), commandTimeoutMs: 300 } },
          }),
        ),
      );

    test('the start-up reload is counted ok, with its operation and outcome', async () => {
      await requireRedis();
      const app = await startWithRedis(testRedisUrl!);
      try {
        expect(await counts(provider, STORE, 'reload')).toEqual({ ok: 1 });
        const point = (await provider.collect()).get(STORE)?.points[0];
        expect(point?.attributes).toEqual({
          'oauth2.operation': 'reload',
          'oauth2.outcome': 'ok',
        });
      } finally {
        await app.close();
      }
    });
  },
);
