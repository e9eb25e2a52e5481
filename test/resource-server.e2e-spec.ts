import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createPublicKey } from 'node:crypto';
import request from 'supertest';
import {
  OAuth2ResourceServerModule,
  type OAuth2IntrospectionOptions,
  type OAuth2ResourceServerExtras,
  type OAuth2ResourceServerOptions,
} from '../src/index.js';
import { platforms, startApp } from './support/app.js';
import {
  AUDIENCE,
  INTROSPECTOR,
  signingKey,
  startFakeIssuer,
  useFakeIssuer,
  type FakeIssuer,
} from './support/fake-issuer.js';
import { useShiftedClock } from './support/fake-clock.js';
import { json } from './support/http-server.js';
import { unsignedJwt } from './support/jwt.js';
import { CapturingLogger } from './support/logger.js';
import { resourceControllers } from './support/resource.controller.js';
import { OAuth2TestIssuer } from '../src/testing/index.js';

const PRINCIPAL = {
  client_id: 'testclient',
  sub: 'testclient',
  scope: 'reports:read reports:write',
};
const CONTEXT = 'OAuth2ResourceServer';

const expectInvalidToken = (res: request.Response, description = 'The access token is invalid') => {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 401,
    body: { error: 'invalid_token', error_description: description },
  });
  expect(res.headers['www-authenticate']).toBe(
    `Bearer realm="Service", error="invalid_token", error_description="${description}"`,
  );
};

/** 503, server_error, no challenge; Retry-After as given, or any number of seconds. */
const expectUnavailable = (res: request.Response, retryAfter?: string) => {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 503,
    body: {
      error: 'server_error',
      error_description: 'The service is temporarily unavailable, retry later',
    },
  });
  expect(res.headers['retry-after']).toEqual(retryAfter ?? expect.stringMatching(/^[1-9]\d*$/));
  expect(res.headers['www-authenticate']).toBeUndefined();
};

describe.each(platforms)('OAuth2ResourceServerModule (%s)', (platform) => {
  const advance = useShiftedClock();
  const fakeIssuer = useFakeIssuer();
  let issuer: FakeIssuer;
  let app: INestApplication | undefined;
  let logger: CapturingLogger;

  beforeEach(() => {
    issuer = fakeIssuer();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(
    options: Partial<OAuth2ResourceServerOptions> = {},
    extras: OAuth2ResourceServerExtras = {},
  ): Promise<void> {
    logger = new CapturingLogger();
    app = await startApp(
      {
        imports: [
          OAuth2ResourceServerModule.forRoot({
            issuer: issuer.issuer,
            audience: AUDIENCE,
            ...options,
            ...extras,
          }),
        ],
        controllers: resourceControllers,
      },
      { platform, logger },
    );
  }

  /**
   * The app trusting the testing kit's in-process issuer instead of the fake one: for the checks of a token
   * whose keys are not the subject.
   */
  async function startTrusting(testIssuer: OAuth2TestIssuer): Promise<void> {
    logger = new CapturingLogger();
    app = await startApp(
      {
        imports: [
          OAuth2ResourceServerModule.forRoot({ issuer: testIssuer.issuer, audience: AUDIENCE }),
        ],
        controllers: resourceControllers,
      },
      { platform, logger, override: (builder) => testIssuer.overrideJwks(builder) },
    );
  }
  const testIssuer = new OAuth2TestIssuer({
    issuer: 'https://auth.test.example',
    audience: AUDIENCE,
  });
  const TESTCLIENT = { clientId: 'testclient', scopes: ['reports:read', 'reports:write'] };

  const call = (token: string, path = '/api/whoami') =>
    request(app?.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`);
  /** The key cache's log lines (not the start-up line). */
  const logged = () =>
    logger.lines.filter(
      (line) =>
        line.context === CONTEXT &&
        line.fields?.event !== 'oauth2.startup.resource_server_configured',
    );

  describe('valid tokens', () => {
    test('200 with the principal; the keys found through the RFC 8414 metadata', async () => {
      await start();
      const res = await call(await issuer.sign());
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: PRINCIPAL });
      expect(issuer.server.requests).toEqual([
        '/.well-known/oauth-authorization-server',
        '/oauth2/jwks',
      ]);
      // Later tokens are verified from the cache.
      expect((await call(await issuer.sign())).status).toBe(200);
      expect(issuer.server.requests).toHaveLength(2);
    });

    test('RFC 8414 §3.1: an issuer with a path has its metadata under the well-known prefix', async () => {
      issuer = await startFakeIssuer('/tenant-a');
      try {
        await start();
        expect((await call(await issuer.sign())).status).toBe(200);
        expect(issuer.server.requests).toEqual([
          '/.well-known/oauth-authorization-server/tenant-a',
          '/tenant-a/oauth2/jwks',
        ]);
      } finally {
        await issuer.close();
      }
    });

    test('a configured jwksUri is fetched without discovery', async () => {
      await start({ jwksUri: issuer.jwksUrl });
      expect((await call(await issuer.sign())).status).toBe(200);
      expect(issuer.server.requests).toEqual(['/oauth2/jwks']);
    });

    test('RS256, one audience among several, from forRootAsync', async () => {
      const rsa = await signingKey('rsa-1', 'RS256');
      issuer.publish([issuer.key.jwk, rsa.jwk]);
      logger = new CapturingLogger();
      app = await startApp(
        {
          imports: [
            OAuth2ResourceServerModule.forRootAsync({
              useFactory: () => ({ issuer: issuer.issuer, audience: ['other', AUDIENCE] }),
            }),
          ],
          controllers: resourceControllers,
        },
        { platform, logger },
      );
      const res = await call(await issuer.sign({ aud: [AUDIENCE, 'x'] }, {}, rsa));
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: PRINCIPAL });
    });

    test('@Scopes: a read-only token reads reports, and is refused writing them', async () => {
      await startTrusting(testIssuer);
      const readOnly = await testIssuer.accessToken({ ...TESTCLIENT, scopes: ['reports:read'] });
      expect((await call(readOnly, '/api/reports')).status).toBe(200);
      const res = await request(app?.getHttpServer())
        .post('/api/reports')
        .set('Authorization', `Bearer ${readOnly}`);
      expect(res.status).toBe(403);
      expect(res.headers['www-authenticate']).toMatch(
        /error="insufficient_scope".*scope="reports:write"$/,
      );
    });

    test('clockTolerance lets a token just expired pass', async () => {
      await start({ clockTolerance: 60 });
      const now = Math.floor(Date.now() / 1000);
      expect((await call(await issuer.sign({ iat: now - 100, exp: now - 30 }))).status).toBe(200);
    });
  });

  describe('refused tokens: 401 invalid_token', () => {
    const now = () => Math.floor(Date.now() / 1000);

    test.each<[string, (issuer: OAuth2TestIssuer) => Promise<string>]>([
      // Compared exactly: one character more is another issuer.
      ['another issuer', (i) => i.accessToken({ ...TESTCLIENT, claims: { iss: `${i.issuer}/` } })],
      ['another audience', (i) => i.flawedAccessToken('wrong_audience', TESTCLIENT)],
      [
        'signed by another key under the issuer’s kid',
        (i) => i.flawedAccessToken('bad_signature', TESTCLIENT),
      ],
    ])('%s (the testing kit’s issuer)', async (_name, make) => {
      await startTrusting(testIssuer);
      expectInvalidToken(await call(await make(testIssuer)));
    });

    test.each<[string, (issuer: FakeIssuer) => Promise<string>]>([
      ['typ JWT', (i) => i.sign({}, { typ: 'JWT' })],
      ['no typ', (i) => i.sign({}, { typ: undefined })],
      ['a crit header', (i) => i.sign({}, { crit: ['urn:example:ext'], 'urn:example:ext': 1 })],
      ['not yet valid', (i) => i.sign({ nbf: now() + 600 })],
      ['no client_id', (i) => i.sign({ client_id: undefined })],
      ['no exp', (i) => i.sign({ exp: undefined })],
      ['a tampered payload', async (i) => tamper(await i.sign(), { scope: 'admin' })],
      ['garbage', async () => 'abc.def.ghi'],
    ])('%s', async (_name, make) => {
      await start();
      expectInvalidToken(await call(await make(issuer)));
    });

    test('expired → "The access token expired"', async () => {
      await startTrusting(testIssuer);
      const token = await testIssuer.flawedAccessToken('expired', TESTCLIENT);
      expectInvalidToken(await call(token), 'The access token expired');
    });

    test.each<[string, (issuer: FakeIssuer) => Promise<string>]>([
      [
        'HS256 keyed with the issuer’s public key bytes (algorithm confusion)',
        async (i) => {
          const pem = createPublicKey({ key: i.key.jwk as never, format: 'jwk' })
            .export({ format: 'pem', type: 'spki' })
            .toString();
          return i.sign({}, {}, { ...i.key, alg: 'HS256', privateKey: Buffer.from(pem) });
        },
      ],
      ['alg none', async (i) => unsignedJwt({ iss: i.issuer, aud: AUDIENCE })],
      ['over 8 KiB', (i) => i.sign({ padding: 'x'.repeat(8 * 1024) })],
    ])('%s → refused before any key is fetched', async (_name, make) => {
      await start();
      expectInvalidToken(await call(await make(issuer)));
      expect(issuer.server.requests).toEqual([]);
    });
  });

  describe('the key cache', () => {
    test('an unknown kid: one refetch per cooldown, then 401', async () => {
      await start();
      expect((await call(await issuer.sign())).status).toBe(200);
      expect(issuer.jwksFetches()).toBe(1);
      advance(30);
      const stranger = await signingKey('unknown-1');
      expectInvalidToken(await call(await issuer.sign({}, {}, stranger)));
      expect(issuer.jwksFetches()).toBe(2);
      // Within the cooldown, more made-up key ids fetch nothing.
      for (const kid of ['unknown-2', 'unknown-3']) {
        expectInvalidToken(await call(await issuer.sign({}, {}, { ...stranger, kid })));
      }
      expect(issuer.jwksFetches()).toBe(2);
      // The metadata was read once.
      expect(issuer.server.requests).toHaveLength(3);
    });

    test('a key rotated in is found by the refetch its kid triggers', async () => {
      await start();
      expect((await call(await issuer.sign())).status).toBe(200);
      const next = await signingKey('issuer-key-2');
      issuer.publish([issuer.key.jwk, next.jwk]);
      advance(30);
      expect((await call(await issuer.sign({}, {}, next))).status).toBe(200);
      expect(issuer.jwksFetches()).toBe(2);
    });

    test.each([
      ['within the bounds', 'public, max-age=120', {}, 120],
      ['under the minimum', 'max-age=5', { jwksCacheMinSeconds: 90 }, 90],
      ['over the maximum', 'max-age=86400', { jwksCacheMaxSeconds: 600 }, 600],
    ])(
      'Cache-Control max-age %s: no fetch before it ends, one after',
      async (_name, cacheControl, bounds, seconds) => {
        issuer.publish([issuer.key.jwk], cacheControl);
        await start(bounds);
        expect((await call(await issuer.sign())).status).toBe(200);
        advance(seconds - 1);
        expect((await call(await issuer.sign())).status).toBe(200);
        expect(issuer.jwksFetches()).toBe(1);
        advance(1);
        expect((await call(await issuer.sign())).status).toBe(200);
        expect(issuer.jwksFetches()).toBe(2);
      },
    );

    test('a token seen before passes while its key is held; once a refetch drops the key, it is refused', async () => {
      await start();
      const token = await issuer.sign();
      expect((await call(token)).status).toBe(200);
      const next = await signingKey('issuer-key-2');
      issuer.publish([next.jwk]);
      // Within the JWK Set's max-age the keys held stand, cache or not.
      advance(299);
      expect((await call(token)).status).toBe(200);
      advance(2);
      expectInvalidToken(await call(token));
      expect(issuer.jwksFetches()).toBe(2);
      expect((await call(await issuer.sign({}, {}, next))).status).toBe(200);
    });

    test('a token seen before is refused once it expires', async () => {
      await start({ clockTolerance: 5 });
      const now = Math.floor(Date.now() / 1000);
      const token = await issuer.sign({ iat: now, exp: now + 60 });
      expect((await call(token)).status).toBe(200);
      advance(64);
      expect((await call(token)).status).toBe(200);
      advance(1);
      expectInvalidToken(await call(token), 'The access token expired');
    });

    test('the issuer stopped after a fetch: the cached keys keep working', async () => {
      await start();
      expect((await call(await issuer.sign())).status).toBe(200);
      const token = await issuer.sign();
      await issuer.close();
      advance(301);
      const res = await call(token);
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: PRINCIPAL });
      expect(logged().map((line) => [line.level, line.message])).toEqual([
        [
          'error',
          `Cannot fetch the keys of ${issuer.issuer}: ${issuer.jwksUrl} unreachable (ECONNREFUSED); ` +
            'the keys fetched before stay in use',
        ],
      ]);
    });

    test('the issuer down and no key cached → 503 with Retry-After, no challenge', async () => {
      const token = await issuer.sign();
      await issuer.close();
      await start();
      const res = await call(token);
      expectUnavailable(res);
      expect(res.headers['retry-after']).toBe('30');
      expect(logged()[0]).toMatchObject({
        level: 'error',
        message: expect.stringContaining(`${issuer.metadataUrl} unreachable (ECONNREFUSED)`),
      });
    });

    test('start-up does not wait for an issuer that never answers', async () => {
      issuer.server.handle(() => undefined);
      await start({ fetchTimeoutMs: 300 });
      // The app is up, and nothing was asked of the issuer yet.
      expect(issuer.server.requests).toEqual([]);
      const open = await request(app?.getHttpServer()).get('/api/whoami');
      expect(open.status).toBe(401);
      const res = await call(await issuer.sign());
      expectUnavailable(res);
      expect(logged()[0].message).toContain('no answer within 300 ms');
    });
  });

  describe('hostile key sets: no crash, a log line, 503 or 401', () => {
    const MB2 = 'x'.repeat(2 * 1024 * 1024);
    test.each<[string, (issuer: FakeIssuer) => void, number, string]>([
      [
        'a 2 MB body',
        (i) =>
          i.answerJwks((_req, res) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(`{"keys":[],"pad":"${MB2}"}`);
          }),
        503,
        'answered with more than 65536 bytes',
      ],
      [
        'a body slower than the timeout',
        (i) =>
          i.answerJwks((_req, res) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.write('{"keys":[');
          }),
        503,
        'no answer within 300 ms',
      ],
      [
        'not JSON',
        (i) => i.answerJwks((_req, res) => res.writeHead(200).end('<html>oops</html>')),
        503,
        'answered with a body that is not JSON',
      ],
      [
        'a private key member',
        (i) => i.publish([{ ...i.key.jwk, d: 'UFJJVkFURS1LRVktTUFURVJJQUw' }]),
        503,
        'published private key material: the whole JWK Set is refused',
      ],
      [
        'a symmetric key under the token’s kid',
        (i) => i.publish([{ kty: 'oct', k: 'c2VjcmV0', kid: i.key.kid }]),
        401,
        'key issuer-key-1 is a symmetric (oct) key; it is ignored',
      ],
      [
        'two keys with the token’s kid',
        (i) => i.publish([i.key.jwk, { ...i.key.jwk, alg: undefined }]),
        401,
        'key issuer-key-1 shares its kid with another key; it is ignored',
      ],
      [
        'a key for an algorithm not allowed',
        (i) => i.publish([{ ...i.key.jwk, alg: 'ES384' }]),
        401,
        'key issuer-key-1 is for the algorithm ES384',
      ],
    ])('%s', async (_name, hostile, status, logLine) => {
      hostile(issuer);
      await start({ fetchTimeoutMs: 300 });
      const res = await call(await issuer.sign());
      if (status === 503) expectUnavailable(res);
      else expectInvalidToken(res);
      expect(
        logged()
          .map((line) => line.message)
          .join('\n'),
      ).toContain(logLine);
      expect(logger.everything().join('\n')).not.toMatch(/UFJJVkFURS1LRVktTUFURVJJQUw|c2VjcmV0/);
      // Still serving.
      expect((await request(app?.getHttpServer()).get('/api/whoami')).status).toBe(401);
    });
  });

  describe('RFC 7662 introspection', () => {
    const startIntrospecting = (
      introspection: Partial<OAuth2IntrospectionOptions> = {},
      options: Partial<OAuth2ResourceServerOptions> = {},
    ) => start({ introspection: { ...INTROSPECTOR, ...introspection }, ...options });

    const expectNotActive = (res: request.Response) =>
      expectInvalidToken(res, 'The access token is not active');

    test('an active token passes: the endpoint found through the RFC 8414 metadata', async () => {
      await startIntrospecting();
      const res = await call(await issuer.sign());
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: PRINCIPAL });
      expect(issuer.introspections()).toBe(1);
    });

    test('a configured endpoint, beside a configured jwksUri: no metadata read', async () => {
      await startIntrospecting({ endpoint: issuer.introspectionUrl }, { jwksUri: issuer.jwksUrl });
      expect((await call(await issuer.sign())).status).toBe(200);
      expect(issuer.server.requests).toEqual(['/oauth2/jwks', '/oauth2/introspect']);
    });

    test('a cached answer: the same token again makes no second call; another token does', async () => {
      await startIntrospecting();
      const token = await issuer.sign();
      expect((await call(token)).status).toBe(200);
      expect((await call(token)).status).toBe(200);
      expect(issuer.introspections()).toBe(1);
      expect((await call(await issuer.sign())).status).toBe(200);
      expect(issuer.introspections()).toBe(2);
    });

    test('revoked at the issuer → 401 once the cached answer ends (cacheTtl)', async () => {
      await startIntrospecting({ cacheTtl: 10 });
      const token = await issuer.sign();
      expect((await call(token)).status).toBe(200);
      issuer.revoke(token);
      // Within cacheTtl the answer cached before the revocation holds: the staleness the README states.
      advance(9);
      expect((await call(token)).status).toBe(200);
      advance(1);
      expectNotActive(await call(token));
      expect(issuer.introspections()).toBe(2);
    });

    test('the local checks come first: a bad or expired token costs no call', async () => {
      await startIntrospecting();
      const now = Math.floor(Date.now() / 1000);
      expect((await call('abc.def.ghi')).status).toBe(401);
      const expired = await call(await issuer.sign({ iat: now - 7200, exp: now - 3600 }));
      expect(expired.body.error_description).toBe('The access token expired');
      expect(issuer.introspections()).toBe(0);
    });

    test('an answer for another client_id → 401', async () => {
      await startIntrospecting();
      issuer.answerIntrospection(json({ active: true, client_id: 'someone-else' }));
      expectNotActive(await call(await issuer.sign()));
    });

    describe('an issuer that cannot be asked: 503 with Retry-After, never a token let through', () => {
      test.each<[string, (issuer: FakeIssuer) => void, string]>([
        [
          'a 500',
          (i) => i.answerIntrospection((_req, res) => res.writeHead(500).end()),
          'answered HTTP 500',
        ],
        [
          'a connection dropped',
          (i) => i.answerIntrospection((req) => req.socket.destroy()),
          'unreachable (',
        ],
        [
          'active as a string',
          (i) => i.answerIntrospection(json({ active: 'true' })),
          'answered with a body that is not an RFC 7662 §2.2 response',
        ],
      ])('%s, then recovery after failureCooldown', async (_name, fail, reason) => {
        await startIntrospecting();
        const token = await issuer.sign();
        fail(issuer);
        expectUnavailable(await call(token), '5');
        expect(logged().map((line) => [line.level, line.message])).toEqual([
          [
            'error',
            expect.stringMatching(
              `^Cannot introspect a token at ${issuer.introspectionUrl}: ${escape(reason)}.*; ` +
                'tokens not in the cache are answered 503 for 5 s$',
            ),
          ],
        ]);
        // Within the cooldown, no call: Retry-After counts down.
        issuer.answerIntrospection(json({ active: true }));
        advance(2);
        expectUnavailable(await call(token), '3');
        expect(issuer.introspections()).toBe(1);
        advance(3);
        expect((await call(token)).status).toBe(200);
        expect(issuer.introspections()).toBe(2);
      });

      test('our credentials refused (401 at the issuer) → 503, and a log line without the secret', async () => {
        await startIntrospecting({ clientSecret: 'not-the-secret' });
        const token = await issuer.sign();
        expectUnavailable(await call(token), '5');
        expect(logged().map((line) => line.message)).toEqual([
          `Cannot introspect a token at ${issuer.introspectionUrl}: answered HTTP 401: the issuer ` +
            'refused this service’s credentials (check `introspection.clientId` "reports-api" and ' +
            'its secret, and that it may introspect); tokens not in the cache are answered 503 for 5 s',
        ]);
        const everything = logger.everything().join('\n');
        expect(everything).not.toContain('not-the-secret');
        expect(everything).not.toContain(token);
      });

      test('metadata without introspection_endpoint → 503 at first use, and a log line saying what to do', async () => {
        issuer.updateMetadata({ introspection_endpoint: undefined });
        await startIntrospecting();
        expectUnavailable(await call(await issuer.sign()), '5');
        expect(logged().map((line) => line.message)).toEqual([
          `Cannot introspect a token at ${issuer.metadataUrl}: has no http(s) introspection_endpoint: ` +
            'set `introspection.endpoint`, or have the issuer publish it; tokens not in the cache are ' +
            'answered 503 for 5 s',
        ]);
      });
    });

    test.each<
      [string, Partial<OAuth2IntrospectionOptions>, Partial<OAuth2ResourceServerOptions>, string]
    >([
      [
        'jwksUri without an endpoint',
        {},
        { jwksUri: 'http://127.0.0.1:1/jwks' },
        '`introspection.endpoint` is required with `jwksUri`',
      ],
      ['no client secret', { clientSecret: '' }, {}, '`introspection.clientSecret` is required'],
      [
        'a negative cacheTtl',
        { cacheTtl: -5 },
        {},
        '`introspection.cacheTtl` must be a whole number of at least 0',
      ],
    ])('%s fails the start-up', async (_name, introspection, options, message) => {
      await expect(startIntrospecting(introspection, options)).rejects.toThrow(message);
    });
  });

  describe('RFC 9728 protected resource metadata', () => {
    const RESOURCE = 'https://api.test.example';
    const METADATA_URL = `${RESOURCE}/.well-known/oauth-protected-resource`;

    test('the document, public; every Bearer challenge names it', async () => {
      await start({
        allowAccessTokenInBody: true,
        resourceMetadata: {
          resource: RESOURCE,
          scopesSupported: ['reports:read', 'reports:write'],
        },
      });
      const doc = await request(app?.getHttpServer()).get('/.well-known/oauth-protected-resource');
      expect({ status: doc.status, body: doc.body }).toEqual({
        status: 200,
        body: {
          resource: RESOURCE,
          authorization_servers: [issuer.issuer],
          bearer_methods_supported: ['header', 'body'],
          scopes_supported: ['reports:read', 'reports:write'],
        },
      });
      expect(doc.headers['content-type']).toMatch(/^application\/json/);
      const bare = await request(app?.getHttpServer()).get('/api/whoami');
      expect(bare.headers['www-authenticate']).toBe(
        `Bearer realm="Service", resource_metadata="${METADATA_URL}"`,
      );
      const refused = await call('abc.def.ghi');
      expect(refused.headers['www-authenticate']).toBe(
        'Bearer realm="Service", error="invalid_token", ' +
          `error_description="The access token is invalid", resource_metadata="${METADATA_URL}"`,
      );
    });

    test('a resource with a path, served at the path given', async () => {
      await start(
        { resourceMetadata: { resource: `${RESOURCE}/reports` } },
        { resourceMetadataPath: '.well-known/oauth-protected-resource/reports' },
      );
      const doc = await request(app?.getHttpServer()).get(
        '/.well-known/oauth-protected-resource/reports',
      );
      expect(doc.body).toMatchObject({
        resource: `${RESOURCE}/reports`,
        bearer_methods_supported: ['header'],
      });
      const bare = await request(app?.getHttpServer()).get('/api/whoami');
      expect(bare.headers['www-authenticate']).toBe(
        `Bearer realm="Service", resource_metadata="${METADATA_URL}/reports"`,
      );
    });

    test('not configured → 404, and no resource_metadata in challenges', async () => {
      await start();
      const doc = await request(app?.getHttpServer()).get('/.well-known/oauth-protected-resource');
      expect(doc.status).toBe(404);
      const bare = await request(app?.getHttpServer()).get('/api/whoami');
      expect(bare.headers['www-authenticate']).toBe('Bearer realm="Service"');
    });
  });
});

/** The text, matched literally in a RegExp. */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The token with its payload changed and its signature kept. */
function tamper(token: string, claims: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.');
  const changed = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), ...claims };
  return `${header}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${signature}`;
}
