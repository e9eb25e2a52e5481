// The README's import lines stand here as they are, one each (the last test compares them).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InMemoryOAuthClientRepository, OAuth2Module } from '../src/index.js';
import { OAuth2ResourceServerModule } from '../src/index.js';
import {
  OAuthClientRepository,
  type OAuth2ModuleOptions,
  type OAuth2ResourceServerOptions,
} from '../src/index.js';
import { OAuth2TestTokens } from '../src/testing/index.js';
import { OAuth2TestIssuer } from '../src/testing/index.js';
import {
  OAUTH2_TEST_TOKEN_FLAWS,
  WRONG_AUDIENCE,
  WRONG_ISSUER,
  type OAuth2TestTokenFlaw,
  type OAuth2TestTokenMinter,
} from '../src/testing/index.js';
import { platforms, startApp, type Platform } from './support/app.js';
import { decodeJwt } from './support/jwt.js';
import { es256 } from './support/keys.js';
import { ReportsController } from './support/reports.controller.js';
import { resourceControllers } from './support/resource.controller.js';

// ---------------------------------------------------------------------------------------------------------
// The README's specs ("Testing your controllers"): the test at the end of this file checks they are the same.

describe('ReportsController', () => {
  let app: INestApplication;
  let tokens: OAuth2TestTokens;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        OAuth2Module.forRoot({
          issuer: 'https://auth.example.com',
          audience: 'https://api.example.com',
          signing: {
            algorithm: 'ES256',
            privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
          },
          // No database: clients in memory. The test tokens need no client record at all.
          clientRepository: InMemoryOAuthClientRepository,
        }),
      ],
      controllers: [ReportsController],
    }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
    tokens = OAuth2TestTokens.from(app);
  });

  afterAll(() => app.close());

  const getReports = (token?: string) => {
    const req = request(app.getHttpServer()).get('/reports');
    return token === undefined ? req : req.auth(token, { type: 'bearer' });
  };

  test('a token with reports:read gets through, as its client', async () => {
    const token = await tokens.accessToken({ clientId: 'billing', scopes: ['reports:read'] });
    const res = await getReports(token).expect(200);
    expect(res.body).toEqual({ client: 'billing', subject: 'billing', scopes: ['reports:read'] });
  });

  test('no token: 401 with a bare challenge', async () => {
    const res = await getReports().expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="Service"');
  });

  test('a token without reports:read: 403 insufficient_scope', async () => {
    const token = await tokens.accessToken({ scopes: ['reports:write'] });
    const res = await getReports(token).expect(403);
    expect(res.body.error).toBe('insufficient_scope');
    expect(res.headers['www-authenticate']).toContain('scope="reports:read"');
  });

  test.each(['expired', 'wrong_audience', 'wrong_issuer', 'bad_signature', 'unknown_key'] as const)(
    'a token with a flaw (%s): 401 invalid_token',
    async (flaw) => {
      const token = await tokens.flawedAccessToken(flaw, { scopes: ['reports:read'] });
      const res = await getReports(token).expect(401);
      expect(res.body.error).toBe('invalid_token');
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    },
  );
});

describe('ReportsController behind OAuth2ResourceServerModule', () => {
  const issuer = new OAuth2TestIssuer({
    issuer: 'https://auth.example.com',
    audience: 'https://api.example.com',
  });
  let app: INestApplication;

  beforeAll(async () => {
    const builder = Test.createTestingModule({
      imports: [
        OAuth2ResourceServerModule.forRoot({
          issuer: 'https://auth.example.com',
          audience: 'https://api.example.com',
        }),
      ],
      controllers: [ReportsController],
    });
    // The module reads the test issuer's keys from memory instead of fetching https://auth.example.com.
    const moduleRef = await issuer.overrideJwks(builder).compile();
    app = moduleRef.createNestApplication();
    await app.init();
  });

  afterAll(() => app.close());

  test('a token of the issuer with reports:read gets through', async () => {
    const token = await issuer.accessToken({ clientId: 'billing', scopes: ['reports:read'] });
    const res = await request(app.getHttpServer())
      .get('/reports')
      .auth(token, { type: 'bearer' })
      .expect(200);
    expect(res.body.client).toBe('billing');
  });

  test('an expired token: 401 invalid_token', async () => {
    const token = await issuer.flawedAccessToken('expired', { scopes: ['reports:read'] });
    const res = await request(app.getHttpServer())
      .get('/reports')
      .auth(token, { type: 'bearer' })
      .expect(401);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  });
});

// ---------------------------------------------------------------------------------------------------------

const AUDIENCE = 'https://api.test.example';
const OTHER_AUDIENCE = 'https://other-api.test.example';
const ISSUER = 'https://auth.test.example';
const FULL_SCOPES = ['reports:read', 'reports:write'];

/** What the guard answers a token with each flaw, on a route that needs reports:read (RFC 6750 §3.1). */
const REFUSAL: Record<OAuth2TestTokenFlaw, { status: number; challenge: string }> = {
  expired: invalidToken('The access token expired'),
  wrong_audience: invalidToken('The access token is invalid'),
  wrong_issuer: invalidToken('The access token is invalid'),
  bad_signature: invalidToken('The access token is invalid'),
  unknown_key: invalidToken('The access token is invalid'),
  missing_scope: {
    status: 403,
    challenge:
      'Bearer realm="Service", error="insufficient_scope", ' +
      'error_description="The access token does not grant the scope this resource requires", ' +
      'scope="reports:read"',
  },
};

function invalidToken(description: string) {
  return {
    status: 401,
    challenge: `Bearer realm="Service", error="invalid_token", error_description="${description}"`,
  };
}

/** The guard's answer to a token on GET /api/reports (reports:read) and on GET /api/whoami (no scope). */
async function answers(app: INestApplication, token: string) {
  const res = await request(app.getHttpServer())
    .get('/api/reports')
    .set('Authorization', `Bearer ${token}`);
  return {
    status: res.status,
    challenge: res.headers['www-authenticate'],
    error: res.body.error,
  };
}

/** A valid token gets through, every flaw gets its refusal, and the same options without the flaw pass. */
function acceptsAndRefuses(app: () => INestApplication, minter: () => OAuth2TestTokenMinter) {
  test('a token for any client id reaches the route, with its principal', async () => {
    const token = await minter().accessToken({ clientId: 'billing', scopes: FULL_SCOPES });
    const res = await request(app().getHttpServer())
      .get('/api/whoami')
      .set('Authorization', `Bearer ${token}`);
    expect({ status: res.status, body: res.body }).toEqual({
      status: 200,
      body: { client_id: 'billing', sub: 'billing', scope: 'reports:read reports:write' },
    });
  });

  test.each(OAUTH2_TEST_TOKEN_FLAWS)('%s: the real guard’s RFC 6750 refusal', async (flaw) => {
    const options = { clientId: 'billing', scopes: FULL_SCOPES };
    const flawed = await minter().flawedAccessToken(flaw, options);
    expect(await answers(app(), flawed)).toEqual({
      ...REFUSAL[flaw],
      error: REFUSAL[flaw].challenge.match(/error="([^"]+)"/)?.[1],
    });
    expect((await answers(app(), await minter().accessToken(options))).status).toBe(200);
  });

  test('each flaw is the one asked for, the rest of the token as accessToken() makes it', async () => {
    const options = { clientId: 'billing', scopes: FULL_SCOPES };
    const good = decodeJwt(await minter().accessToken(options));
    const flawed = async (flaw: OAuth2TestTokenFlaw) =>
      decodeJwt(await minter().flawedAccessToken(flaw, options));
    const now = Math.floor(Date.now() / 1000);
    const expired = await flawed('expired');
    expect(expired.payload.exp).toBeLessThan(now);
    expect((expired.payload.exp as number) - (expired.payload.iat as number)).toBe(
      (good.payload.exp as number) - (good.payload.iat as number),
    );
    expect((await flawed('wrong_audience')).payload.aud).toBe(WRONG_AUDIENCE);
    expect((await flawed('wrong_issuer')).payload.iss).toBe(WRONG_ISSUER);
    expect((await flawed('bad_signature')).header).toEqual(good.header);
    expect((await flawed('unknown_key')).header.kid).not.toBe(good.header.kid);
    expect((await flawed('missing_scope')).payload.scope).toBeUndefined();
    for (const flaw of ['wrong_audience', 'bad_signature', 'unknown_key'] as const) {
      expect((await flawed(flaw)).payload).toMatchObject({
        client_id: 'billing',
        scope: 'reports:read reports:write',
      });
    }
  });
}

describe.each(platforms)('OAuth2TestTokens: an OAuth2Module app (%s)', (platform: Platform) => {
  describe.each([
    { algorithm: 'ES256', signing: { algorithm: 'ES256', privateKey: es256.privateKey } },
    {
      algorithm: 'RS256',
      signing: {
        algorithm: 'RS256',
        privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      },
    },
    // A secret and no kid: the flawed tokens must still be refused for the flaw, not for a kid.
    {
      algorithm: 'HS256',
      signing: { algorithm: 'HS256', secret: 'a-32-byte-long-shared-secret-key!' },
    },
  ] as const)('$algorithm', ({ signing }) => {
    let app: INestApplication;
    let tokens: OAuth2TestTokens;
    const options: OAuth2ModuleOptions = {
      issuer: ISSUER,
      audience: [AUDIENCE, OTHER_AUDIENCE],
      signing,
      accessTokenLifetime: 600,
      maxAccessTokenLifetime: 900,
      customClaims: ({ client }) => ({ tenant: `tenant-of-${client.clientId}` }),
    };

    beforeAll(async () => {
      app = await startApp(
        {
          imports: [
            OAuth2Module.forRoot({
              ...options,
              clientRepository: { useValue: new InMemoryOAuthClientRepository() },
            }),
          ],
          controllers: resourceControllers,
        },
        { platform },
      );
      tokens = OAuth2TestTokens.from(app);
    });
    afterAll(() => app.close());

    test('no client record is read or stored', async () => {
      const repository = app.get(OAuthClientRepository);
      const findById = jest.spyOn(repository, 'findById');
      await tokens.accessToken({ clientId: 'billing', scopes: FULL_SCOPES });
      expect(findById).not.toHaveBeenCalled();
      expect(await repository.list()).toEqual([]);
    });

    test('the token is the TokenService’s: issuer, audience, lifetime, kid, typ, custom claims', async () => {
      const { header, payload } = decodeJwt(await tokens.accessToken());
      expect(header).toMatchObject({ alg: signing.algorithm, typ: 'at+jwt' });
      expect(payload).toMatchObject({
        iss: ISSUER,
        aud: [AUDIENCE, OTHER_AUDIENCE],
        client_id: 'test-client',
        sub: 'test-client',
        tenant: 'tenant-of-test-client',
      });
      expect(payload.scope).toBeUndefined();
      expect((payload.exp as number) - (payload.iat as number)).toBe(600);
    });

    test('audience, lifetime (clamped as the token endpoint clamps it), subject and claims', async () => {
      const token = await tokens.accessToken({
        clientId: 'billing',
        subject: 'user-42',
        audience: OTHER_AUDIENCE,
        lifetime: 3600,
        claims: { tenant: 'acme', region: 'eu' },
      });
      const { payload } = decodeJwt(token);
      expect(payload).toMatchObject({
        aud: OTHER_AUDIENCE,
        sub: 'user-42',
        tenant: 'acme',
        region: 'eu',
      });
      expect((payload.exp as number) - (payload.iat as number)).toBe(900);
      const res = await request(app.getHttpServer())
        .get('/api/whoami')
        .set('Authorization', `Bearer ${token}`);
      expect({ status: res.status, sub: res.body.sub }).toEqual({ status: 200, sub: 'user-42' });
    });

    test('an audience the app does not accept is refused', async () => {
      const token = await tokens.accessToken({ audience: 'https://elsewhere.example' });
      expect((await answers(app, token)).status).toBe(401);
    });

    acceptsAndRefuses(
      () => app,
      () => tokens,
    );
  });
});

describe('OAuth2TestTokens.from()', () => {
  test('takes a TestingModule, compiled, not started', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        OAuth2Module.forRoot({
          issuer: ISSUER,
          signing: { algorithm: 'ES256', privateKey: es256.privateKey },
          clientRepository: InMemoryOAuthClientRepository,
        }),
      ],
    }).compile();
    const { payload } = decodeJwt(await OAuth2TestTokens.from(moduleRef).accessToken());
    expect(payload).toMatchObject({ iss: ISSUER, aud: ISSUER });
    await moduleRef.close();
  });

  test('an app without OAuth2Module: a message that says what to do', async () => {
    const moduleRef = await Test.createTestingModule({}).compile();
    expect(() => OAuth2TestTokens.from(moduleRef)).toThrow(
      'OAuth2TestTokens.from(): this app has no TokenService: import OAuth2Module in its test module, ' +
        'or use OAuth2TestIssuer for an app on OAuth2ResourceServerModule',
    );
    await moduleRef.close();
  });
});

describe.each(platforms)('OAuth2TestIssuer: an OAuth2ResourceServerModule app (%s)', (platform) => {
  /** A resource server app that reads the issuer's keys from memory. */
  async function resourceServer(
    issuer: OAuth2TestIssuer,
    options: Partial<OAuth2ResourceServerOptions> = {},
  ): Promise<INestApplication> {
    return startApp(
      {
        imports: [
          OAuth2ResourceServerModule.forRoot({ issuer: ISSUER, audience: AUDIENCE, ...options }),
        ],
        controllers: resourceControllers,
      },
      { platform, override: (builder) => issuer.overrideJwks(builder) },
    );
  }

  describe.each([
    { name: 'ES256, keys found through the RFC 8414 metadata', algorithm: 'ES256', rs: {} },
    {
      name: 'RS256, a configured jwksUri',
      algorithm: 'RS256',
      rs: { jwksUri: 'https://keys.test.example/jwks.json' },
    },
    // The expired token is expired beyond the resource server's tolerance.
    { name: 'ES256, clockTolerance 600', algorithm: 'ES256', rs: { clockTolerance: 600 } },
  ] as const)('$name', ({ algorithm, rs }) => {
    const issuer = new OAuth2TestIssuer({ issuer: ISSUER, audience: AUDIENCE, algorithm });
    let app: INestApplication;

    beforeAll(async () => {
      app = await resourceServer(issuer, rs);
    });
    afterAll(() => app.close());

    acceptsAndRefuses(
      () => app,
      () => issuer,
    );
  });

  test('its tokens: RFC 9068 header and claims, audience, lifetime, subject and extra claims', async () => {
    const issuer = new OAuth2TestIssuer({ issuer: ISSUER, audience: [AUDIENCE, OTHER_AUDIENCE] });
    const { header, payload } = decodeJwt(await issuer.accessToken({ scopes: ['reports:read'] }));
    expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: 'oauth2-test-key' });
    expect(payload).toEqual({
      iss: ISSUER,
      sub: 'test-client',
      aud: [AUDIENCE, OTHER_AUDIENCE],
      exp: (payload.iat as number) + 300,
      iat: expect.any(Number),
      jti: expect.any(String),
      client_id: 'test-client',
      scope: 'reports:read',
    });
    const custom = decodeJwt(
      await issuer.accessToken({
        subject: 'user-7',
        audience: OTHER_AUDIENCE,
        lifetime: 60,
        claims: { tenant: 'acme' },
      }),
    ).payload;
    expect(custom).toMatchObject({ sub: 'user-7', aud: OTHER_AUDIENCE, tenant: 'acme' });
    expect((custom.exp as number) - (custom.iat as number)).toBe(60);
    expect(issuer.jwks.keys).toEqual([
      expect.objectContaining({
        kty: 'EC',
        crv: 'P-256',
        kid: 'oauth2-test-key',
        alg: 'ES256',
        use: 'sig',
      }),
    ]);
    expect(issuer.jwks.keys[0]).not.toHaveProperty('d');
  });

  test('its fetch answers its metadata and keys only: nothing reaches the network', async () => {
    const issuer = new OAuth2TestIssuer({ issuer: `${ISSUER}/tenant-a`, audience: AUDIENCE });
    expect(issuer.metadataUrl).toBe(
      'https://auth.test.example/.well-known/oauth-authorization-server/tenant-a',
    );
    const metadata = await issuer.fetch(issuer.metadataUrl, {});
    expect(await metadata.json()).toEqual({
      issuer: `${ISSUER}/tenant-a`,
      jwks_uri: issuer.jwksUri,
    });
    expect(await (await issuer.fetch(issuer.jwksUri, {})).json()).toEqual(issuer.jwks);
    await expect(issuer.fetch('https://example.com/', {})).rejects.toThrow(
      /^OAuth2TestIssuer answers only .* not https:\/\/example\.com\/$/,
    );
  });

  test('an issuer that is no http(s) URL is refused at once', () => {
    for (const issuer of ['auth.example.com', 'urn:example:issuer']) {
      expect(() => new OAuth2TestIssuer({ issuer, audience: AUDIENCE })).toThrow(
        "OAuth2TestIssuer: issuer must be an absolute http(s) URL, as the resource server's is",
      );
    }
  });

  test.each<[string, Partial<OAuth2ResourceServerOptions>, string]>([
    [
      'another issuer',
      { issuer: 'https://auth.other.example' },
      'the resource server accepts tokens of https://auth.other.example, this test issuer is ' +
        `${ISSUER}: create it with { issuer: 'https://auth.other.example' }`,
    ],
    [
      'an algorithm it does not allow',
      { algorithms: ['RS256'] },
      "the resource server's algorithms (RS256) do not allow ES256",
    ],
    [
      'introspection on',
      { introspection: { clientId: 'reports-api', clientSecret: 'secret' } },
      'the resource server has introspection on, which asks the issuer over the network: ' +
        'leave `introspection` out of the test module',
    ],
  ])(
    'a resource server configured with %s: compiling fails, saying why',
    async (_name, rs, why) => {
      const issuer = new OAuth2TestIssuer({ issuer: ISSUER, audience: AUDIENCE });
      await expect(resourceServer(issuer, rs)).rejects.toThrow(
        `OAuth2TestIssuer.overrideJwks(): ${why}`,
      );
    },
  );
});

describe('the README’s testing section', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const spec = readFileSync(new URL(import.meta.url), 'utf8');
  const section = readme.split('\n## Testing your controllers: @nest-oauth2/server/testing\n')[1];
  const blocks = [...(section ?? '').split('\n## ')[0].matchAll(/```ts\n([\s\S]*?)```/g)].map(
    (match) => match[1],
  );
  /** The README's import paths, as this spec imports the same things. */
  const SPECIFIERS: Record<string, string> = {
    '@nest-oauth2/server': '../src/index.js',
    '@nest-oauth2/server/testing': '../src/testing/index.js',
    './reports.controller.js': './support/reports.controller.js',
  };

  test('sits right before "## Migrations", with two specs', () => {
    expect(readme).toMatch(
      /\n## Testing your controllers: @nest-oauth2\/server\/testing\n[\s\S]*?\n## Migrations\n/,
    );
    expect(readme.indexOf('\n## Testing your controllers')).toBeLessThan(
      readme.indexOf('\n## Migrations\n'),
    );
    expect(blocks).toHaveLength(2);
  });

  test('each spec is one this file runs, code and imports alike', () => {
    for (const block of blocks) {
      const lines = block.split('\n');
      const imports = lines.filter((line) => line.startsWith('import '));
      const body = lines
        .filter((line) => !line.startsWith('import '))
        .join('\n')
        .trim();
      expect(spec).toContain(body);
      for (const line of imports) {
        const mapped = line.replace(/'([^']+)';$/, (all, from: string) =>
          from in SPECIFIERS ? `'${SPECIFIERS[from]}';` : all,
        );
        expect(`\n${spec}`).toContain(`\n${mapped}\n`);
      }
    }
  });
});
