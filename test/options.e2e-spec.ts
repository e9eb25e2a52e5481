import { afterEach, describe, expect, test } from '@jest/globals';
import {
  Controller,
  Get,
  HttpException,
  Injectable,
  Module,
  ServiceUnavailableException,
  type CanActivate,
  type ExecutionContext,
  UseGuards,
  type INestApplication,
  type LoggerService,
  type ModuleMetadata,
} from '@nestjs/common';
import { APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import {
  ClientSecretHasher,
  InMemoryOAuthClientRepository,
  OAuth2Guard,
  OAuth2Module,
  OAuth2Public,
  OAuthClient,
  OAuthClientRepository,
  type OAuth2ModuleExtras,
  type OAuth2ModuleOptions,
} from '../src/index.js';
import { platforms, seedClients, startApp } from './support/app.js';
import { testOptions } from './support/fixtures.js';
import { decodeJwt, rfc7638Thumbprint } from './support/jwt.js';
import { CapturingLogger } from './support/logger.js';
import {
  basicHeader,
  CLIENTS,
  GRANT,
  tokenRequest,
  TEST_BASIC,
  expectInvalidClient,
  expectTokenError,
} from './support/oauth.js';
import { ResourceController } from './support/resource.controller.js';

describe.each(platforms)('options on %s', (platform) => {
  /**
   * An app with the seed's clients, in memory unless `extras` names a repository: these suites are about
   * options, not storage. `host` adds the host app's own modules, controllers and providers.
   */
  async function appWith(
    options: Partial<OAuth2ModuleOptions> = {},
    extras: OAuth2ModuleExtras = {},
    { logger, host = {} }: { logger?: LoggerService; host?: ModuleMetadata } = {},
  ): Promise<INestApplication> {
    const app = await startApp(
      {
        imports: [
          OAuth2Module.forRoot({
            ...testOptions(options),
            clientRepository: { useValue: new InMemoryOAuthClientRepository() },
            ...extras,
          }),
          ...(host.imports ?? []),
        ],
        controllers: [ResourceController, ...(host.controllers ?? [])],
        providers: host.providers,
      },
      { platform, logger },
    );
    await seedClients(app, Object.values(CLIENTS));
    return app;
  }

  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  describe('allowCredentialsInRequestBody: false', () => {
    test('body credentials are refused with 401 invalid_client; Basic still works', async () => {
      app = await appWith({ allowCredentialsInRequestBody: false });
      expectInvalidClient(
        await tokenRequest(app).send(`${GRANT}&client_id=testclient&client_secret=testpass`),
      );
      expect((await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT)).status).toBe(
        200,
      );
    });
  });

  describe('allowPublicClients: true', () => {
    test('a public client gets a token with client_id alone', async () => {
      app = await appWith({ allowPublicClients: true });
      const res = await tokenRequest(app).send(`${GRANT}&client_id=public-client`);
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe('reports:read');
      expect(decodeJwt(res.body.access_token).payload).toMatchObject({
        client_id: 'public-client',
        sub: 'public-client',
      });
    });

    test('a public client that sends a secret, or a confidential client without one, fails', async () => {
      app = await appWith({ allowPublicClients: true });
      expectInvalidClient(
        await tokenRequest(app).send(`${GRANT}&client_id=public-client&client_secret=x`),
      );
      expectInvalidClient(
        await tokenRequest(app).set('Authorization', basicHeader('public-client', 'x')).send(GRANT),
      );
      expectInvalidClient(await tokenRequest(app).send(`${GRANT}&client_id=testclient`));
    });

    test('public clients identify themselves even when body credentials are off', async () => {
      app = await appWith({ allowPublicClients: true, allowCredentialsInRequestBody: false });
      expect((await tokenRequest(app).send(`${GRANT}&client_id=public-client`)).status).toBe(200);
    });
  });

  describe('issuer settings', () => {
    test('token path, realm, audience, lifetime and custom claims', async () => {
      app = await appWith(
        {
          realm: 'Reports API',
          audience: ['https://api-a.example', 'https://api-b.example'],
          accessTokenLifetime: 120,
          customClaims: ({ client, scopes }) => ({
            tenant: 'acme',
            granted: scopes.length,
            owner: client.userId,
            iss: 'https://evil.example',
            sub: 'someone-else',
            scope: 'admin',
          }),
        },
        { tokenPath: 'auth/token' },
      );
      expect((await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT)).status).toBe(
        404,
      );

      const res = await tokenRequest(app, '/auth/token')
        .set('Authorization', TEST_BASIC)
        .send(GRANT);
      expect(res.status).toBe(200);
      expect(res.body.expires_in).toBe(120);
      const { payload } = decodeJwt(res.body.access_token);
      expect(payload).toMatchObject({
        aud: ['https://api-a.example', 'https://api-b.example'],
        tenant: 'acme',
        granted: 2,
        owner: null,
        iss: 'https://auth.test.example',
        sub: 'testclient',
        scope: 'reports:read reports:write',
      });
      expect(payload.exp).toBe((payload.iat as number) + 120);

      expectInvalidClient(await tokenRequest(app, '/auth/token').send(GRANT), 'Reports API');
      const guarded = await request(app.getHttpServer()).get('/api/whoami');
      expect(guarded.headers['www-authenticate']).toBe('Bearer realm="Reports API"');
      const ok = await request(app.getHttpServer())
        .get('/api/whoami')
        .set('Authorization', `Bearer ${res.body.access_token}`);
      expect(ok.status).toBe(200);
    });

    test('a custom-claims hook that throws is a 500 server_error without details', async () => {
      const logger = new CapturingLogger();
      app = await appWith(
        {
          customClaims: () => {
            throw new Error('tenant lookup failed for secret-tenant');
          },
        },
        {},
        { logger },
      );
      const res = await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT);
      expectTokenError(res, 500, 'server_error');
      expect(res.text).not.toContain('secret-tenant');
      // The details go to the host app's log instead.
      expect(logger.lines.map((line) => line.level)).toContain('error');
    });

    test.each([
      ['HS256', { algorithm: 'HS256', secret: 'a-32-byte-long-shared-secret-key!' }],
      [
        'RS256',
        {
          algorithm: 'RS256',
          privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
        },
      ],
      [
        'ES384',
        {
          algorithm: 'ES384',
          privateKey: generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
        },
      ],
    ] as const)('%s tokens are issued and accepted', async (algorithm, signing) => {
      app = await appWith({ signing });
      const res = await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT);
      // RFC 7638: an asymmetric key's kid is its JWK thumbprint by default; an HMAC secret has none to publish.
      expect(decodeJwt(res.body.access_token).header).toEqual({
        alg: algorithm,
        typ: 'at+jwt',
        ...('privateKey' in signing
          ? { kid: rfc7638Thumbprint(createPublicKey(signing.privateKey)) }
          : {}),
      });
      const ok = await request(app.getHttpServer())
        .get('/api/whoami')
        .set('Authorization', `Bearer ${res.body.access_token}`);
      expect(ok.status).toBe(200);
    });

    test.each([
      [
        'a short HS256 secret',
        { signing: { algorithm: 'HS256', secret: 'short' } },
        /at least 32 bytes/,
      ],
      ['no issuer', { issuer: '' }, /issuer/],
      ['a zero lifetime', { accessTokenLifetime: 0 }, /accessTokenLifetime/],
      ['a realm with a quote', { realm: 'a"b' }, /realm/],
    ] as const)('%s fails the boot with a clear message', async (_name, options, message) => {
      await expect(appWith(options as Partial<OAuth2ModuleOptions>)).rejects.toThrow(message);
    });
  });

  describe('storage failure', () => {
    class BrokenRepository extends InMemoryOAuthClientRepository {
      override async findById(): Promise<never> {
        const error = new Error(
          'connect ECONNREFUSED db.internal.example:5432 SELECT client_secret FROM oauth_clients WHERE client_id = testclient',
        ) as Error & { code: string };
        error.code = 'ECONNREFUSED';
        throw error;
      }
    }

    test('is a 503 server_error with Retry-After; no SQL, host or secret in the body or the log', async () => {
      const logger = new CapturingLogger();
      app = await appWith({}, { clientRepository: BrokenRepository }, { logger });
      const res = await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT);
      expectTokenError(res, 503, 'server_error');
      expect(res.headers['retry-after']).toBe('5');
      const everything = res.text + logger.everything().join('\n');
      for (const leak of ['SELECT', 'db.internal', 'testpass', TEST_BASIC.slice(6)]) {
        expect(everything).not.toContain(leak);
      }
      expect(logger.text()).toContain('ECONNREFUSED');
    });

    test('a repository given as a class is what OAuthClientRepository reads through', async () => {
      app = await appWith({}, { clientRepository: BrokenRepository });
      await expect(app.get(OAuthClientRepository).findById('testclient')).rejects.toThrow(
        /ECONNREFUSED/,
      );
    });
  });

  describe('allowAccessTokenInBody: true (RFC 6750 §2.2)', () => {
    test('a form-encoded POST body token is accepted; header plus body is refused', async () => {
      app = await appWith({ allowAccessTokenInBody: true });
      const { access_token: token } = (
        await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT)
      ).body;
      const server = app.getHttpServer();

      expect(
        (await request(server).post('/api/reports').type('form').send(`access_token=${token}`))
          .status,
      ).toBe(201);
      const both = await request(server)
        .post('/api/reports')
        .set('Authorization', `Bearer ${token}`)
        .type('form')
        .send(`access_token=${token}`);
      expect(both.status).toBe(400);
      expect(both.body.error).toBe('invalid_request');
      const repeated = await request(server)
        .post('/api/reports')
        .type('form')
        .send(`access_token=${token}&access_token=${token}`);
      expect(repeated.status).toBe(400);
      // Only form bodies count: a JSON body's access_token is not a bearer token.
      const json = await request(server).post('/api/reports').send({ access_token: token });
      expect(json.status).toBe(401);
    });
  });

  describe('as a global guard', () => {
    @Controller('open')
    class OpenController {
      @Get('public')
      @OAuth2Public()
      open() {
        return { open: true };
      }

      @Get('default')
      guardedByDefault() {
        return { open: false };
      }
    }

    test('protects every route but the token endpoint and @OAuth2Public() ones', async () => {
      app = await appWith(
        {},
        {},
        {
          host: {
            controllers: [OpenController],
            providers: [{ provide: APP_GUARD, useClass: OAuth2Guard }],
          },
        },
      );
      const server = app.getHttpServer();
      expect((await request(server).get('/open/public')).status).toBe(200);
      expect((await request(server).get('/open/default')).status).toBe(401);
      const res = await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT);
      expect(res.status).toBe(200);
      const ok = await request(server)
        .get('/open/default')
        .set('Authorization', `Bearer ${res.body.access_token}`);
      expect(ok.status).toBe(200);
    });
  });

  describe('isGlobal', () => {
    @Controller('feature')
    @UseGuards(OAuth2Guard)
    class FeatureController {
      @Get()
      get() {
        return { ok: true };
      }
    }

    @Module({ controllers: [FeatureController] })
    class FeatureModule {}

    test('the guard works in a module that does not import OAuth2Module', async () => {
      app = await appWith({}, { isGlobal: true }, { host: { imports: [FeatureModule] } });
      const res = await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT);
      const server = app.getHttpServer();
      expect((await request(server).get('/feature')).status).toBe(401);
      expect(
        (
          await request(server)
            .get('/feature')
            .set('Authorization', `Bearer ${res.body.access_token}`)
        ).status,
      ).toBe(200);
    });
  });

  describe('KDF-hashed secrets under load', () => {
    test('a flood of wrong secrets is shed with 503 and Retry-After; a verified client keeps getting tokens', async () => {
      app = await appWith({ secretVerification: { maxConcurrentKdf: 1, maxQueuedKdf: 2 } });
      // testclient's secret was chosen (seeded with scrypt): its first success pays the KDF and is remembered.
      expect((await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT)).status).toBe(
        200,
      );

      const flood = Array.from({ length: 30 }, (_, i) =>
        tokenRequest(app!)
          .set('Authorization', basicHeader('testclient', `wrong-${i}`))
          .send(GRANT),
      );
      const legit = Array.from({ length: 10 }, () =>
        tokenRequest(app!).set('Authorization', TEST_BASIC).send(GRANT),
      );
      const [flooded, served] = await Promise.all([Promise.all(flood), Promise.all(legit)]);

      expect(served.map((res) => res.status)).toEqual(Array(10).fill(200));
      const shed = flooded.filter((res) => res.status === 503);
      expect(shed.length).toBeGreaterThan(0);
      for (const res of shed) {
        expectTokenError(res, 503, 'server_error');
        expect(res.headers['retry-after']).toBe('1');
      }
      for (const res of flooded.filter((r) => r.status !== 503)) expectInvalidClient(res);
    });

    test('concurrent first requests of a client share one KDF derivation', async () => {
      app = await appWith({ secretVerification: { maxConcurrentKdf: 1, maxQueuedKdf: 0 } });
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          tokenRequest(app!).set('Authorization', TEST_BASIC).send(GRANT),
        ),
      );
      expect(results.map((res) => res.status)).toEqual(Array(8).fill(200));
    });
  });

  describe('two apps in one process', () => {
    test("each app's token endpoint keeps its own settings (Passport's registry is process-wide)", async () => {
      const strict = await appWith({ allowPublicClients: false });
      const lenient = await appWith({ allowPublicClients: true });
      try {
        expectInvalidClient(await tokenRequest(strict).send(`${GRANT}&client_id=public-client`));
        expect((await tokenRequest(lenient).send(`${GRANT}&client_id=public-client`)).status).toBe(
          200,
        );
      } finally {
        await lenient.close();
        await strict.close();
      }
    });
  });

  describe('legacy plaintext secrets', () => {
    /** One client, `legacy`, whose row still holds its secret in plaintext. */
    const legacyRows = () => [
      OAuthClient.create({
        clientId: 'legacy',
        clientSecret: 'plain-secret',
        grantTypes: 'client_credentials',
      }),
    ];
    const legacyApp = (repository: InMemoryOAuthClientRepository, logger?: CapturingLogger) =>
      appWith(
        { legacyPlaintextSecrets: true },
        { clientRepository: { useValue: repository } },
        { logger },
      );
    const LEGACY_BASIC = basicHeader('legacy', 'plain-secret');

    /** A column too narrow for a hash, on a database that truncates instead of failing. */
    class NarrowColumnRepository extends InMemoryOAuthClientRepository {
      override updateSecret(clientId: string, expected: string, next: string): Promise<boolean> {
        return super.updateSecret(clientId, expected, next.slice(0, 32));
      }
    }

    test('a hash the column would cut short is not kept: the client can still log in', async () => {
      const logger = new CapturingLogger();
      const repository = new NarrowColumnRepository(legacyRows());
      app = await legacyApp(repository, logger);
      for (let attempt = 0; attempt < 2; attempt++) {
        const res = await tokenRequest(app).set('Authorization', LEGACY_BASIC).send(GRANT);
        expect(res.status).toBe(200);
      }
      expect((await repository.findById('legacy'))?.clientSecret).toBe('plain-secret');
      expect(logger.text()).toContain('cannot hold a hash');
      expect(logger.everything().join('\n')).not.toContain('plain-secret');
    });

    /** Another writer rotates the secret right after our upgrade lands. */
    class RotatedMeanwhile extends InMemoryOAuthClientRepository {
      override async updateSecret(
        clientId: string,
        expected: string,
        next: string,
      ): Promise<boolean> {
        const changed = await super.updateSecret(clientId, expected, next);
        if (changed && next.startsWith('$scrypt$'))
          await super.updateSecret(clientId, next, 'rotated-by-admin');
        return changed;
      }
    }

    test('an upgrade racing a rotation: the read-back leaves the rotation alone', async () => {
      const repository = new RotatedMeanwhile(legacyRows());
      app = await legacyApp(repository);
      const res = await tokenRequest(app).set('Authorization', LEGACY_BASIC).send(GRANT);
      expect(res.status).toBe(200);
      expect((await repository.findById('legacy'))?.clientSecret).toBe('rotated-by-admin');
    });
  });

  describe('the token endpoint behind other guards of the host app', () => {
    /** Sets its header through the platform adapter, as a host guard must (a Fastify reply has no setHeader). */
    @Injectable()
    class RateLimited implements CanActivate {
      constructor(private readonly adapterHost: HttpAdapterHost) {}

      canActivate(context: ExecutionContext): boolean {
        const response = context.switchToHttp().getResponse();
        this.adapterHost.httpAdapter.setHeader(response, 'Retry-After', '7');
        throw new HttpException('Too Many Requests', 429);
      }
    }

    class Unavailable implements CanActivate {
      canActivate(): boolean {
        throw new ServiceUnavailableException('maintenance on db.internal.example');
      }
    }

    test("a host's own 5xx HttpException is a 500 server_error, without its message", async () => {
      app = await appWith(
        {},
        {},
        { host: { providers: [{ provide: APP_GUARD, useClass: Unavailable }] } },
      );
      const res = await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT);
      expectTokenError(res, 500, 'server_error');
      expect(res.text).not.toContain('db.internal');
    });

    test("a host rate limiter's 429 keeps its status and Retry-After, in an OAuth-shaped body", async () => {
      app = await appWith(
        {},
        {},
        { host: { providers: [{ provide: APP_GUARD, useClass: RateLimited }] } },
      );
      const res = await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT);
      expectTokenError(res, 429, 'invalid_request');
      expect(res.body.error_description).toBe('Too Many Requests');
      expect(res.headers['retry-after']).toBe('7');
    });
  });

  describe('body limit', () => {
    const LIMIT = 64 * 1024;
    // The platform refuses a body over its own limit before the module sees it: Express 100 kB, Fastify 1 MiB.
    const platformLimit = { express: 100 * 1024, fastify: 1024 * 1024 }[platform];
    /** A token request of exactly `bytes` bytes: the grant, then an ignored parameter as padding. */
    const bodyOf = (bytes: number) => {
      const head = `${GRANT}&padding=`;
      return head + 'a'.repeat(bytes - head.length);
    };

    test('a body of 64 KiB is read; one byte more is a 413 invalid_request', async () => {
      app = await appWith();
      const send = (body: string) => tokenRequest(app!).set('Authorization', TEST_BASIC).send(body);
      expect((await send(bodyOf(LIMIT))).status).toBe(200);
      expectTokenError(await send(bodyOf(LIMIT + 1)), 413, 'invalid_request');
    });

    test('a chunked body (no Content-Length) is held to the same 64 KiB limit', async () => {
      app = await appWith();
      const req = tokenRequest(app).set('Authorization', TEST_BASIC);
      // write() instead of send(): no Content-Length, so Node sends the body chunked.
      req.write(`${GRANT}&padding=`);
      for (let i = 0; i < 9; i++) req.write('a'.repeat(10 * 1024));
      const res = await req;
      expect(req.req.getHeader('content-length')).toBeUndefined();
      expectTokenError(res, 413, 'invalid_request');
    });

    test("a body over the platform's own limit is the same OAuth error", async () => {
      app = await appWith();
      const res = await tokenRequest(app)
        .set('Authorization', TEST_BASIC)
        .send(bodyOf(platformLimit + 1));
      expectTokenError(res, 413, 'invalid_request');
    });
  });

  describe('legacy upgrade write failing', () => {
    /** Storage that reads fine but refuses writes, with the kind of message a driver writes: the query and values. */
    class ReadOnlyRepository extends InMemoryOAuthClientRepository {
      override async updateSecret(
        clientId: string,
        expected: string,
        next: string,
      ): Promise<boolean> {
        const error = new Error(
          `Lock wait timeout exceeded: UPDATE oauth_clients SET client_secret = '${next}' ` +
            `WHERE client_id = '${clientId}' AND client_secret = '${expected}'`,
        ) as Error & { code: string };
        error.code = 'ER_LOCK_WAIT_TIMEOUT';
        throw error;
      }
    }

    test('never fails the login: 200 each time, the row kept, the failure logged without the secret', async () => {
      const logger = new CapturingLogger();
      const repository = new ReadOnlyRepository([
        OAuthClient.create({
          clientId: 'legacy',
          clientSecret: 'plain-secret',
          grantTypes: 'client_credentials',
        }),
      ]);
      app = await startApp(
        {
          imports: [
            OAuth2Module.forRoot({
              ...testOptions({ legacyPlaintextSecrets: true }),
              clientRepository: { useValue: repository },
            }),
          ],
        },
        { platform, logger },
      );
      const basic = basicHeader('legacy', 'plain-secret');
      for (let attempt = 0; attempt < 2; attempt++) {
        const res = await tokenRequest(app).set('Authorization', basic).send(GRANT);
        expect(res.status).toBe(200);
        expect(res.body.token_type).toBe('Bearer');
      }
      expect((await repository.findById('legacy'))?.clientSecret).toBe('plain-secret');
      // Tried again on the next authentication: logged once per attempt.
      const failures = logger
        .everything()
        .filter((line) => line.includes('Could not upgrade a plaintext client secret'));
      expect(failures).toHaveLength(2);
      expect(failures[0]).toContain('ER_LOCK_WAIT_TIMEOUT');
      const logged = logger.everything().join('\n');
      for (const leak of ['plain-secret', '$scrypt$', 'UPDATE', basic.slice('Basic '.length)]) {
        expect(logged).not.toContain(leak);
      }
    });
  });

  describe('clientCache', () => {
    const hasher = new ClientSecretHasher();

    /**
     * An app whose storage is then changed behind the module's back, as the CLI does from another process: the
     * client's secret is replaced, then the client is deleted. What the next request sees, each time.
     */
    async function changedBehindTheModule(clientCache: { ttl: number }) {
      const before = hasher.createSecret();
      const after = hasher.createSecret();
      const repository = new InMemoryOAuthClientRepository([
        OAuthClient.create({
          clientId: 'svc',
          clientSecret: before.hash,
          grantTypes: 'client_credentials',
        }),
      ]);
      app = await startApp(
        {
          imports: [
            OAuth2Module.forRoot({
              ...testOptions({ clientCache }),
              clientRepository: { useValue: repository },
            }),
          ],
        },
        { platform },
      );
      const status = async (secret: string) =>
        (await tokenRequest(app!).set('Authorization', basicHeader('svc', secret)).send(GRANT))
          .status;

      expect(await status(before.secret)).toBe(200);
      await repository.save(
        OAuthClient.create({
          clientId: 'svc',
          clientSecret: after.hash,
          grantTypes: 'client_credentials',
        }),
      );
      const rotated = { old: await status(before.secret), new: await status(after.secret) };
      await repository.delete('svc');
      const deleted = { old: await status(before.secret), new: await status(after.secret) };
      return { rotated, deleted };
    }

    test('ttl 0: no lookup cache, so a change in storage shows on the very next request', async () => {
      expect(await changedBehindTheModule({ ttl: 0 })).toEqual({
        rotated: { old: 401, new: 200 },
        deleted: { old: 401, new: 401 },
      });
    });

    test('a ttl: the cached client answers until it expires (the change is not seen at once)', async () => {
      expect(await changedBehindTheModule({ ttl: 3600 })).toEqual({
        rotated: { old: 200, new: 401 },
        deleted: { old: 200, new: 401 },
      });
    });
  });
});
