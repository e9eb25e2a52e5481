import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  Post,
  UseGuards,
  type INestApplication,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  ApiOAuth2,
  ApiResponse,
  DocumentBuilder,
  SwaggerModule,
  type OpenAPIObject,
} from '@nestjs/swagger';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  InMemoryOAuthClientRepository,
  OAuth2Guard,
  OAuth2Module,
  OAuth2Public,
  OAuth2ResourceServerModule,
  Scopes,
} from '../src/index.js';
import { createOAuth2Document, type OAuth2DocumentOptions } from '../src/swagger/index.js';
import { platforms, startApp } from './support/app.js';
import { tempDir } from './support/cli.js';
import { startExample, type RunningExample } from './support/example.js';
import { ISSUER, testOptions } from './support/fixtures.js';
import { resourceControllers } from './support/resource.controller.js';

const config = new DocumentBuilder().setTitle('Swagger e2e').setVersion('1.0.0').build();

/** A subclass of the guard is the guard: the requirement follows it. */
@Injectable()
class TenantGuard extends OAuth2Guard {}

/** Guarded per route, with an unguarded route beside them. */
@Controller('mixed')
class MixedController {
  @Get('guarded')
  @UseGuards(OAuth2Guard)
  @Scopes('audit:read', 'audit:export')
  guarded() {
    return {};
  }

  @Get('subclass')
  @UseGuards(TenantGuard)
  subclass() {
    return {};
  }

  @Get('open')
  open() {
    return {};
  }
}

/** A guarded controller with a public route, a route of its own scope, and the host's own swagger decorator. */
@Controller('admin')
@UseGuards(OAuth2Guard)
@Scopes('admin')
class AdminController {
  @Get('health')
  @OAuth2Public()
  health() {
    return {};
  }

  @Post('users')
  @Scopes('admin:write')
  @ApiResponse({ status: 403, description: 'Admins only' })
  createUser() {
    return {};
  }

  @Get('legacy')
  @ApiOAuth2(['legacy'], 'partner')
  legacy() {
    return {};
  }
}

/** Every route behind the app-wide guard unless public. */
@Controller('global')
class GlobalController {
  @Get('default')
  guardedByDefault() {
    return {};
  }

  @Get('scoped')
  @Scopes('reports:read')
  scoped() {
    return {};
  }

  @Get('public')
  @OAuth2Public()
  open() {
    return {};
  }
}

@OAuth2Public()
@Controller('status')
class StatusController {
  @Get()
  status() {
    return {};
  }
}

const oauth2 = () =>
  OAuth2Module.forRoot({
    ...testOptions(),
    clientRepository: { useValue: new InMemoryOAuthClientRepository() },
  });

/** Every operation of the document: `METHOD path` → its security requirements (undefined: none). */
function securityOf(document: OpenAPIObject): Record<string, unknown> {
  const operations: Record<string, unknown> = {};
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (typeof operation === 'object' && operation !== null && 'responses' in operation) {
        operations[`${method.toUpperCase()} ${path}`] = (
          operation as { security?: unknown }
        ).security;
      }
    }
  }
  return operations;
}

/**
 * The module's own endpoints: public, so no requirement on any of them; documented by the method a client
 * uses, without the 405 answers to the others or the issuer-path variants of the metadata route.
 */
const MODULE_OPERATIONS = {
  'POST /oauth2/token': undefined,
  'GET /oauth2/jwks': undefined,
  'GET /.well-known/oauth-authorization-server': undefined,
};

/** The 401 and 403 answers an operation documents: `METHOD path` → `{ code: description }`. */
function refusalsOf(document: OpenAPIObject, key: string): Record<string, unknown> {
  const [method, path] = key.split(' ');
  const { responses } = document.paths[path][method.toLowerCase() as 'get'] as {
    responses: Record<string, { description: string }>;
  };
  return Object.fromEntries(
    Object.entries(responses)
      .filter(([code]) => code === '401' || code === '403')
      .map(([code, response]) => [code, response.description]),
  );
}

async function validate(document: unknown) {
  const validator = new Validator();
  return validator.validate(JSON.parse(JSON.stringify(document)));
}

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});
async function start(...args: Parameters<typeof startApp>): Promise<INestApplication> {
  const app = await startApp(...args);
  apps.push(app);
  return app;
}

describe.each(platforms)('createOAuth2Document (%s)', (platform) => {
  test('guards per route and per controller: exactly their requirements, and a scheme with every scope', async () => {
    const app = await start(
      {
        imports: [oauth2()],
        controllers: [...resourceControllers, MixedController, AdminController, StatusController],
        providers: [TenantGuard],
      },
      { platform },
    );
    const document = createOAuth2Document(app, config);

    expect(document.components?.securitySchemes).toEqual({
      oauth2: {
        type: 'oauth2',
        flows: {
          clientCredentials: {
            tokenUrl: '/oauth2/token',
            scopes: {
              admin: '',
              'admin:write': '',
              'audit:export': '',
              'audit:read': '',
              'reports:read': '',
              'reports:write': '',
            },
          },
        },
      },
    });
    expect(document.security).toBeUndefined();
    const security = securityOf(document);
    expect(security).toEqual({
      ...MODULE_OPERATIONS,
      'GET /api/whoami': [{ oauth2: [] }],
      'GET /api/reports': [{ oauth2: ['reports:read'] }],
      'POST /api/reports': [{ oauth2: ['reports:write'] }],
      // Route and controller scopes, merged as OAuth2Guard merges them.
      'GET /api/archive': [{ oauth2: ['reports:read'] }],
      'POST /api/archive': [{ oauth2: ['reports:write', 'reports:read'] }],
      'GET /mixed/guarded': [{ oauth2: ['audit:read', 'audit:export'] }],
      'GET /mixed/subclass': [{ oauth2: [] }],
      'GET /mixed/open': undefined,
      'GET /admin/health': undefined,
      'POST /admin/users': [{ oauth2: ['admin:write', 'admin'] }],
      // The host's own requirement stays, ours is an alternative beside it.
      'GET /admin/legacy': [{ partner: ['legacy'] }, { oauth2: ['admin'] }],
      'GET /status': undefined,
    });
    // The guard's refusals (RFC 6750 §3.1) on guarded operations; the host's own description kept.
    const invalidToken = expect.stringContaining('invalid_token');
    const insufficientScope = expect.stringContaining('insufficient_scope');
    expect(refusalsOf(document, 'GET /api/whoami')).toEqual({ 401: invalidToken });
    expect(refusalsOf(document, 'GET /api/reports')).toEqual({
      401: invalidToken,
      403: insufficientScope,
    });
    expect(refusalsOf(document, 'POST /admin/users')).toEqual({
      401: invalidToken,
      403: 'Admins only',
    });
    expect(refusalsOf(document, 'GET /mixed/open')).toEqual({});
    expect(refusalsOf(document, 'GET /admin/health')).toEqual({});
    expect(refusalsOf(document, 'POST /oauth2/token')).toEqual({});
    expect(await validate(document)).toEqual({ valid: true });
  });

  test('APP_GUARD: every route but the public ones and the module endpoints', async () => {
    const app = await start(
      {
        imports: [oauth2()],
        controllers: [GlobalController, MixedController],
        providers: [{ provide: APP_GUARD, useClass: OAuth2Guard }, TenantGuard],
      },
      { platform },
    );
    const document = createOAuth2Document(app, config);
    expect(securityOf(document)).toEqual({
      ...MODULE_OPERATIONS,
      'GET /global/default': [{ oauth2: [] }],
      'GET /global/scoped': [{ oauth2: ['reports:read'] }],
      'GET /global/public': undefined,
      'GET /mixed/guarded': [{ oauth2: ['audit:read', 'audit:export'] }],
      'GET /mixed/subclass': [{ oauth2: [] }],
      'GET /mixed/open': [{ oauth2: [] }],
    });
    expect(await validate(document)).toEqual({ valid: true });
  });
});

describe('createOAuth2Document options and limits', () => {
  test('scope descriptions, a scheme name, a token URL and tokenPath', async () => {
    const app = await start({
      imports: [
        OAuth2Module.forRoot({
          ...testOptions(),
          clientRepository: { useValue: new InMemoryOAuthClientRepository() },
          tokenPath: 'auth/token',
        }),
      ],
      controllers: resourceControllers,
    });
    expect(createOAuth2Document(app, config).components?.securitySchemes?.oauth2).toMatchObject({
      flows: { clientCredentials: { tokenUrl: '/auth/token' } },
    });
    // A document without the module's endpoints (`include`) still points at the token endpoint.
    const included = createOAuth2Document(app, config, {}, { include: [class Elsewhere {}] });
    expect(included.paths).toEqual({});
    expect(included.components?.securitySchemes?.oauth2).toMatchObject({
      flows: { clientCredentials: { tokenUrl: '/auth/token' } },
    });

    const options: OAuth2DocumentOptions = {
      schemeName: 'clients',
      tokenUrl: `${ISSUER}/auth/token`,
      description: 'Client credentials (RFC 6749 §4.4)',
      scopes: { 'reports:read': 'Read reports', 'reports:admin': 'Not on a route yet' },
    };
    const document = createOAuth2Document(app, config, options);
    expect(document.components?.securitySchemes).toEqual({
      clients: {
        type: 'oauth2',
        description: 'Client credentials (RFC 6749 §4.4)',
        flows: {
          clientCredentials: {
            tokenUrl: 'https://auth.test.example/auth/token',
            scopes: {
              'reports:admin': 'Not on a route yet',
              'reports:read': 'Read reports',
              'reports:write': '',
            },
          },
        },
      },
    });
    expect(securityOf(document)['GET /api/reports']).toEqual([{ clients: ['reports:read'] }]);
    expect(await validate(document)).toEqual({ valid: true });
  });

  test('a global prefix, several paths per route and an operationIdFactory: swagger maps them as usual', async () => {
    @Controller('aliases')
    @UseGuards(OAuth2Guard)
    class AliasController {
      @Get(['first', 'second'])
      @Scopes('reports:read')
      both() {
        return {};
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [oauth2()],
      controllers: [AliasController],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    apps.push(app);
    app.setGlobalPrefix('v1');
    await app.init();
    const document = createOAuth2Document(
      app,
      config,
      {},
      {
        operationIdFactory: (controller, method) => `${controller}.${method}`,
      },
    );
    expect(securityOf(document)).toEqual({
      'POST /v1/oauth2/token': undefined,
      'GET /v1/oauth2/jwks': undefined,
      'GET /v1/.well-known/oauth-authorization-server': undefined,
      'GET /v1/aliases/first': [{ oauth2: ['reports:read'] }],
      'GET /v1/aliases/second': [{ oauth2: ['reports:read'] }],
    });
    expect(document.paths['/v1/aliases/first'].get?.operationId).toMatch(/^AliasController\.both/);
    // The token URL is the token endpoint's path as the document has it, prefix included.
    expect(document.components?.securitySchemes?.oauth2).toMatchObject({
      flows: { clientCredentials: { tokenUrl: '/v1/oauth2/token' } },
    });
    expect(JSON.stringify(document)).not.toContain('x-oauth2');
    expect(await validate(document)).toEqual({ valid: true });
  });

  test('the controllers are left as they were: a second app without the guard documents none', async () => {
    const guarded = await start({
      imports: [oauth2()],
      controllers: [GlobalController],
      providers: [{ provide: APP_GUARD, useClass: OAuth2Guard }],
    });
    expect(securityOf(createOAuth2Document(guarded, config))['GET /global/default']).toEqual([
      { oauth2: [] },
    ]);
    // @nestjs/swagger's own scan, after ours, sees the classes as they are.
    const plain = securityOf(SwaggerModule.createDocument(guarded, config));
    expect(plain['GET /global/default']).toBeUndefined();
    expect(plain).toHaveProperty(['GET /oauth2/token']);
    const unguarded = await start({ imports: [oauth2()], controllers: [GlobalController] });
    const document = createOAuth2Document(unguarded, config);
    expect(securityOf(document)['GET /global/default']).toBeUndefined();
    expect(document.components?.securitySchemes?.oauth2).toMatchObject({
      flows: { clientCredentials: { scopes: {} } },
    });
  });

  test('an OAuth2ResourceServerModule app takes the issuer token URL; without one it says so', async () => {
    const app = await start({
      imports: [
        OAuth2ResourceServerModule.forRoot({
          issuer: ISSUER,
          audience: 'https://api.test.example',
          jwksUri: `${ISSUER}/oauth2/jwks`,
        }),
      ],
      controllers: resourceControllers,
    });
    expect(() => createOAuth2Document(app, config)).toThrow(
      /no OAuth2Module token endpoint .*pass `tokenUrl`, the issuer's token_endpoint/,
    );
    const document = createOAuth2Document(app, config, { tokenUrl: `${ISSUER}/oauth2/token` });
    expect(document.components?.securitySchemes?.oauth2).toEqual({
      type: 'oauth2',
      flows: {
        clientCredentials: {
          tokenUrl: 'https://auth.test.example/oauth2/token',
          scopes: { 'reports:read': '', 'reports:write': '' },
        },
      },
    });
    expect(securityOf(document)).toEqual({
      'GET /.well-known/oauth-protected-resource': undefined,
      'GET /api/whoami': [{ oauth2: [] }],
      'GET /api/reports': [{ oauth2: ['reports:read'] }],
      'POST /api/reports': [{ oauth2: ['reports:write'] }],
      'GET /api/archive': [{ oauth2: ['reports:read'] }],
      'POST /api/archive': [{ oauth2: ['reports:write', 'reports:read'] }],
    });
    expect(await validate(document)).toEqual({ valid: true });
  });

  test('the validator refuses a broken document, so the assertions above can fail', async () => {
    const app = await start({ imports: [oauth2()], controllers: resourceControllers });
    const document = createOAuth2Document(app, config);
    const broken = structuredClone(document) as unknown as {
      components: { securitySchemes: { oauth2: { flows: { clientCredentials: object } } } };
    };
    // A client credentials flow without its token URL (OpenAPI 3.0 OAuth Flow Object: REQUIRED).
    broken.components.securitySchemes.oauth2.flows.clientCredentials = { scopes: {} };
    const result = await validate(broken);
    expect(result.valid).toBe(false);
  });
});

describe('the example app serves Swagger UI at /docs', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dir = tempDir('oauth2-swagger-');
  });
  afterAll(() => dir.remove());

  describe.each(platforms)('on %s', (platform) => {
    let example: RunningExample;
    beforeAll(async () => {
      example = await startExample(
        { DATABASE_URL: 'sqlite::memory:', HTTP_PLATFORM: platform },
        { cwd: dir.path, dataDir: `${dir.path}/${platform}` },
      );
    });
    afterAll(() => example.app.close());

    test('/docs-json: the scheme and each /api route with its scopes; a valid OpenAPI 3 document', async () => {
      const res = await request(example.server).get('/docs-json');
      expect(res.status).toBe(200);
      const document = res.body as OpenAPIObject;
      expect(document.components?.securitySchemes).toEqual({
        oauth2: expect.objectContaining({
          type: 'oauth2',
          flows: {
            clientCredentials: {
              tokenUrl: '/oauth2/token',
              scopes: { 'reports:read': expect.any(String), 'reports:write': expect.any(String) },
            },
          },
        }),
      });
      expect(securityOf(document)).toEqual({
        ...MODULE_OPERATIONS,
        'POST /oauth2/revoke': undefined,
        'POST /oauth2/introspect': undefined,
        'GET /api/whoami': [{ oauth2: [] }],
        'GET /api/reports': [{ oauth2: ['reports:read'] }],
        'POST /api/reports': [{ oauth2: ['reports:write'] }],
      });
      // The document holds no credential: the demo client's are typed into the dialog.
      expect(JSON.stringify(document)).not.toMatch(/testpass|client_secret/);
      expect(await validate(document)).toEqual({ valid: true });
    });
  });

  test('/docs: the Swagger UI page (Fastify and the dialog: test/swagger-browser.e2e-spec.ts)', async () => {
    const example = await startExample(
      { DATABASE_URL: 'sqlite::memory:' },
      { cwd: dir.path, dataDir: `${dir.path}/docs-page` },
    );
    try {
      const res = await request(example.server).get('/docs');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain('swagger-ui');
      const init = await request(example.server).get('/docs/swagger-ui-init.js');
      expect(init.status).toBe(200);
      expect(init.text).toContain('"clientCredentials"');
    } finally {
      await example.app.close();
    }
  });
});
