import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  jest,
  test,
} from '@jest/globals';
import {
  Controller,
  HttpCode,
  Post,
  UseGuards,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { PassportStrategy } from '@nestjs/passport';
import { Test } from '@nestjs/testing';
import passport from 'passport';
import CustomStrategy from 'passport-custom';
import request from 'supertest';
import { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { MalformedRequestError, type OAuth2HttpRequest } from '../http/http-request.js';
import { OAuth2Config } from '../oauth2-config.js';
import type { OAuth2ModuleOptions } from '../oauth2-options.interface.js';
import { ClientAuthMethods } from './client-auth-methods.js';
import { AuthenticatedClient, ClientAuthGuard, reportedClientId } from './client-auth.guard.js';
import { ClientAuthenticator } from './client-authenticator.service.js';
import { ClientSecretBasicStrategy } from './client-secret-basic.strategy.js';
import { ClientSecretPostStrategy, PublicClientStrategy } from './form-client.strategies.js';
import { ClientAuthThrottle } from './client-auth-throttle.js';
import { SecretVerifier } from './secret-verifier.js';
import { InMemoryOAuth2ThrottleStore, OAuth2ThrottleStore } from './throttle.store.js';
import { rejectionOf } from '../../test/support/thrown.js';
import { RecordingEventSink } from '../../test/support/observability.js';
import { OAuth2EventSink } from '../observability/events.js';
import { OAuth2Metrics } from '../observability/metrics.js';

const FORM = 'application/x-www-form-urlencoded';
const CUSTOM_STRATEGY = 'client-auth-guard-spec:mtls';
const b64 = (value: string): string => Buffer.from(value).toString('base64');
const basic = (userPass: string): string => `Basic ${b64(userPass)}`;
const svc = OAuthClient.create({ clientId: 'svc', clientSecret: 'hash' });
const mtlsClient = OAuthClient.create({ clientId: 'mtls', clientSecret: 'hash' });

function config(options: Partial<OAuth2ModuleOptions> = {}): OAuth2Config {
  return new OAuth2Config({
    issuer: 'https://auth.example.com',
    signing: { algorithm: 'HS256', secret: 'x'.repeat(32) },
    ...options,
  });
}

/** One module instance's worth of client authentication, with a stub authenticator. */
function instance(options: Partial<OAuth2ModuleOptions> = {}, derivationMs = 0) {
  const methods = new ClientAuthMethods(config(options));
  const authenticate = jest.fn<ClientAuthenticator['authenticate']>();
  const authenticator = { authenticate } as unknown as ClientAuthenticator;
  new ClientSecretBasicStrategy(authenticator, methods);
  new ClientSecretPostStrategy(authenticator, methods);
  new PublicClientStrategy(authenticator, methods);
  const throttle = new ClientAuthThrottle(new InMemoryOAuth2ThrottleStore(), config(options));
  // No padding unless asked: timing is the e2e suites' business.
  const verifier = { derivationMs: async () => derivationMs } as unknown as SecretVerifier;
  return {
    guard: new ClientAuthGuard(
      methods,
      throttle,
      verifier,
      new RecordingEventSink(),
      new OAuth2Metrics(),
    ),
    methods,
    authenticate,
  };
}

function form(body: unknown, headers: Record<string, string> = {}): OAuth2HttpRequest {
  return { method: 'POST', headers: { 'content-type': FORM, ...headers }, body };
}

function httpContext(req: OAuth2HttpRequest): ExecutionContext {
  const response = {};
  return {
    getType: () => 'http',
    getClass: () => Object,
    getHandler: () => httpContext,
    getArgs: () => [req, response],
    getArgByIndex: (index: number) => [req, response][index],
    switchToHttp: () => ({
      getRequest: () => req,
      getResponse: () => response,
      getNext: () => undefined,
    }),
  } as unknown as ExecutionContext;
}

function expectOAuth2Error(
  error: unknown,
  code: string,
  status: number,
  description: string,
): void {
  expect(error).toBeInstanceOf(OAuth2Error);
  expect((error as OAuth2Error).error).toBe(code);
  expect((error as OAuth2Error).getStatus()).toBe(status);
  expect((error as OAuth2Error).description).toBe(description);
}

/** passport-custom registered under a host app's name: a client authentication method of its own. */
class HostMtlsStrategy extends PassportStrategy(CustomStrategy, CUSTOM_STRATEGY) {
  validate(req: OAuth2HttpRequest): OAuthClient | false {
    return req.headers['x-client-cert'] === 'good' ? mtlsClient : false;
  }
}

describe('ClientAuthGuard', () => {
  const a = instance({
    allowPublicClients: true,
    clientAuthMethods: [
      {
        name: 'tls_client_auth',
        strategy: CUSTOM_STRATEGY,
        isPresentIn: (req) => req.headers['x-client-cert'] !== undefined,
      },
    ],
  });
  const b = instance();

  beforeAll(() => {
    new HostMtlsStrategy();
  });
  afterAll(() => {
    a.methods.onModuleDestroy();
    b.methods.onModuleDestroy();
    passport.unuse(CUSTOM_STRATEGY);
  });
  beforeEach(() => {
    a.authenticate.mockReset();
    b.authenticate.mockReset();
  });

  test('client_secret_basic: passport puts the client on request.oauth2Client', async () => {
    a.authenticate.mockResolvedValueOnce(svc);
    const req = form({ grant_type: 'client_credentials' }, { authorization: basic('svc:s:e') });
    await expect(a.guard.canActivate(httpContext(req))).resolves.toBe(true);
    expect(a.authenticate.mock.calls).toEqual([['svc', 's:e', 'unknown']]);
    expect(req.oauth2Client).toBe(svc);
    expect(req).not.toHaveProperty('user');
  });

  test('client_secret_post: the body credentials, through the post strategy', async () => {
    a.authenticate.mockResolvedValueOnce(svc);
    const req = form({ client_id: 'svc', client_secret: 'secret' });
    await expect(a.guard.canActivate(httpContext(req))).resolves.toBe(true);
    expect(a.authenticate.mock.calls).toEqual([['svc', 'secret', 'unknown']]);
    expect(req.oauth2Client).toBe(svc);
  });

  test('none: a public client, through the none strategy', async () => {
    const pub = OAuthClient.create({ clientId: 'pub' });
    a.authenticate.mockResolvedValueOnce(pub);
    const req = form({ client_id: 'pub' });
    await expect(a.guard.canActivate(httpContext(req))).resolves.toBe(true);
    expect(a.authenticate.mock.calls).toEqual([['pub', undefined, 'unknown']]);
    expect(req.oauth2Client).toBe(pub);
  });

  test('a method of your own: the host strategy named in clientAuthMethods runs', async () => {
    const req = form({}, { 'x-client-cert': 'good' });
    await expect(a.guard.canActivate(httpContext(req))).resolves.toBe(true);
    expect(req.oauth2Client).toBe(mtlsClient);
    expect(a.authenticate).not.toHaveBeenCalled();
  });

  test('a method of your own that refuses → 401 invalid_client', async () => {
    const error = await rejectionOf(
      a.guard.canActivate(httpContext(form({}, { 'x-client-cert': 'bad' }))),
    );
    expectOAuth2Error(error, 'invalid_client', 401, 'Client authentication failed');
  });

  test('each module instance runs its own strategies', async () => {
    b.authenticate.mockResolvedValueOnce(svc);
    const req = form({}, { authorization: basic('svc:s') });
    await b.guard.canActivate(httpContext(req));
    expect(b.authenticate).toHaveBeenCalledTimes(1);
    expect(a.authenticate).not.toHaveBeenCalled();
  });

  test('a strategy failure (a non-Basic scheme) → 401 invalid_client', async () => {
    const req = form({}, { authorization: 'Bearer abc' });
    const error = await rejectionOf(a.guard.canActivate(httpContext(req)));
    expectOAuth2Error(error, 'invalid_client', 401, 'Client authentication failed');
    expect(req.oauth2Client).toBeUndefined();
    expect(a.authenticate).not.toHaveBeenCalled();
  });

  test('no client from the authenticator → 401 invalid_client', async () => {
    a.authenticate.mockResolvedValueOnce(undefined as unknown as OAuthClient);
    const error = await rejectionOf(
      a.guard.canActivate(httpContext(form({}, { authorization: basic('svc:s') }))),
    );
    expectOAuth2Error(error, 'invalid_client', 401, 'Client authentication failed');
  });

  test('the authenticator’s own error is thrown as is (a 503 keeps its Retry-After)', async () => {
    const outage = OAuth2Error.temporarilyUnavailable(5);
    a.authenticate.mockRejectedValueOnce(outage);
    const error = await rejectionOf(
      a.guard.canActivate(httpContext(form({}, { authorization: basic('svc:s') }))),
    );
    expect(error).toBe(outage);
  });

  test('a malformed Basic header is the strategy’s MalformedRequestError, thrown as is', async () => {
    const error = await rejectionOf(
      a.guard.canActivate(httpContext(form({}, { authorization: 'Basic YWI6Y2R=' }))),
    );
    expect(error).toBeInstanceOf(MalformedRequestError);
    expect((error as MalformedRequestError).message).toBe(
      'The Basic credentials are not valid base64',
    );
  });

  test('RFC 6749 §2.3: two methods → 400 invalid_request before any strategy runs', async () => {
    const req = form({ client_secret: 's' }, { authorization: basic('svc:s') });
    const error = await rejectionOf(a.guard.canActivate(httpContext(req)));
    expectOAuth2Error(
      error,
      'invalid_request',
      400,
      'Client credentials were sent by more than one method',
    );
    expect(a.authenticate).not.toHaveBeenCalled();
  });

  test('no credentials → 401 invalid_client before any strategy runs', async () => {
    const error = await rejectionOf(b.guard.canActivate(httpContext(form({ client_id: 'pub' }))));
    expectOAuth2Error(error, 'invalid_client', 401, 'Client authentication failed');
    expect(b.authenticate).not.toHaveBeenCalled();
  });

  test('the same guard serves one request after another with different methods', async () => {
    a.authenticate.mockResolvedValue(svc);
    for (const req of [
      form({}, { authorization: basic('svc:s') }),
      form({ client_id: 'svc', client_secret: 's' }),
      form({}, { authorization: basic('svc:s') }),
    ]) {
      await a.guard.canActivate(httpContext(req));
      expect(req.oauth2Client).toBe(svc);
    }
    expect(a.authenticate).toHaveBeenCalledTimes(3);
  });
});

describe('ClientAuthGuard: a failure takes a KDF derivation’s time', () => {
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  /** A guard whose derivations take `derivationMs`, on the fake clock. */
  function padded(derivationMs: number) {
    return instance({}, derivationMs);
  }

  /** Whether the promise has settled, without waiting for it. */
  async function settled(promise: Promise<unknown>): Promise<boolean> {
    let done = false;
    promise.then(
      () => (done = true),
      () => (done = true),
    );
    for (let i = 0; i < 20; i++) await Promise.resolve();
    return done;
  }

  test('an unknown id (a failure without KDF work) answers only once the derivation time has passed', async () => {
    jest.useFakeTimers();
    const { guard, methods, authenticate } = padded(80);
    try {
      authenticate.mockRejectedValue(OAuth2Error.invalidClient());
      const attempt = guard.canActivate(
        httpContext(form({}, { authorization: basic('nobody:x') })),
      );
      attempt.catch(() => undefined);
      expect(await settled(attempt)).toBe(false);
      await jest.advanceTimersByTimeAsync(79);
      expect(await settled(attempt)).toBe(false);
      await jest.advanceTimersByTimeAsync(2);
      expect(await settled(attempt)).toBe(true);
      expectOAuth2Error(
        await rejectionOf(attempt),
        'invalid_client',
        401,
        'Client authentication failed',
      );
    } finally {
      methods.onModuleDestroy();
    }
  });

  test('successes and other errors are not padded', async () => {
    jest.useFakeTimers();
    const { guard, methods, authenticate } = padded(80);
    try {
      authenticate.mockResolvedValueOnce(svc);
      expect(
        await settled(guard.canActivate(httpContext(form({}, { authorization: basic('svc:s') })))),
      ).toBe(true);
      authenticate.mockRejectedValueOnce(OAuth2Error.temporarilyUnavailable(5));
      const outage = guard.canActivate(httpContext(form({}, { authorization: basic('svc:s') })));
      outage.catch(() => undefined);
      expect(await settled(outage)).toBe(true);
    } finally {
      methods.onModuleDestroy();
    }
  });
});

describe('AuthenticatedClient', () => {
  function factoryOf(decorator: () => ParameterDecorator) {
    class Probe {
      handler(@decorator() _client: unknown): void {}
    }
    const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, Probe, 'handler') as Record<
      string,
      { factory: (data: unknown, context: ExecutionContext) => unknown }
    >;
    return Object.values(args)[0].factory;
  }

  test('gives the client ClientAuthGuard put on the request', () => {
    const req = { ...form({}), oauth2Client: svc };
    expect(factoryOf(AuthenticatedClient)(undefined, httpContext(req))).toBe(svc);
  });

  test('without ClientAuthGuard on the route it throws, never yields undefined', () => {
    expect(() => factoryOf(AuthenticatedClient)(undefined, httpContext(form({})))).toThrow(
      new Error('@AuthenticatedClient() needs ClientAuthGuard on the route'),
    );
  });
});

describe('ClientAuthGuard in a Nest app', () => {
  const authenticate = jest.fn<ClientAuthenticator['authenticate']>();
  let app: INestApplication;

  @Controller()
  class ProbeController {
    @Post('probe')
    @HttpCode(200)
    @UseGuards(ClientAuthGuard)
    probe(@AuthenticatedClient() client: OAuthClient): { clientId: string } {
      return { clientId: client.clientId };
    }
  }

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [ProbeController],
      providers: [
        { provide: OAuth2Config, useValue: config() },
        { provide: ClientAuthenticator, useValue: { authenticate } },
        ClientAuthMethods,
        ClientSecretBasicStrategy,
        ClientSecretPostStrategy,
        PublicClientStrategy,
        ClientAuthGuard,
        { provide: OAuth2ThrottleStore, useValue: new InMemoryOAuth2ThrottleStore() },
        ClientAuthThrottle,
        { provide: SecretVerifier, useValue: { derivationMs: async () => 0 } },
        { provide: OAuth2EventSink, useValue: new RecordingEventSink() },
        OAuth2Metrics,
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app.close();
  });

  test('an authenticated client reaches the handler', async () => {
    authenticate.mockResolvedValueOnce(svc);
    const res = await request(app.getHttpServer())
      .post('/probe')
      .set('Authorization', basic('svc:secret'))
      .type('form')
      .send('grant_type=client_credentials');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ clientId: 'svc' });
    expect(authenticate.mock.calls).toEqual([['svc', 'secret', '127.0.0.1']]);
  });

  test('a refusal is the OAuth2Error invalid_client (status and RFC body)', async () => {
    authenticate.mockRejectedValueOnce(OAuth2Error.invalidClient());
    const res = await request(app.getHttpServer())
      .post('/probe')
      .type('form')
      .send('client_id=svc&client_secret=wrong');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: 'invalid_client',
      error_description: 'Client authentication failed',
    });
  });

  test('closing the app takes its strategies out of passport', async () => {
    const moduleRef = await Test.createTestingModule({
      providers: [
        { provide: OAuth2Config, useValue: config() },
        { provide: ClientAuthenticator, useValue: { authenticate } },
        ClientAuthMethods,
        ClientSecretBasicStrategy,
      ],
    }).compile();
    const other = moduleRef.createNestApplication({ logger: false });
    await other.init();
    const name = other.get(ClientAuthMethods).strategyName('client_secret_basic');
    const registry = (passport as unknown as { _strategies: Record<string, unknown> })._strategies;
    expect(registry[name]).toBe(other.get(ClientSecretBasicStrategy));
    await other.close();
    expect(registry[name]).toBeUndefined();
  });
});

describe('reportedClientId (the client id an audit event repeats)', () => {
  const generated = 'dGhpcyBpcyBhIGdlbmVyYXRlZCBzZWNyZXQgb2YgMzI'; // 43 base64url characters, as a generated secret

  test('an unknown id shaped like a secret or a hash is withheld, its length kept', () => {
    expect(reportedClientId(generated, 'unknown_client')).toBe(
      '[withheld: 43 characters, shaped like a secret]',
    );
    expect(reportedClientId('$scrypt$N=16384$abc', 'malformed_credentials')).toMatch(/^\[withheld/);
    // A known client's id is its id, whatever its shape; a readable unknown id is repeated.
    expect(reportedClientId(generated, 'wrong_secret')).toBe(generated);
    expect(reportedClientId('billing-service', 'unknown_client')).toBe('billing-service');
  });

  test('control, separator and format characters and the backslash are escaped; 80 code points at most', () => {
    expect(reportedClientId('a\nb\u2028c\u202Ed\u200Be\u0085f')).toBe(
      'a\\u000ab\\u2028c\\u202ed\\u200be\\u0085f',
    );
    // A literal backslash-u in an id cannot pass for an escape.
    expect(reportedClientId('a\\u000ab')).toBe('a\\\\u000ab');
    expect([...reportedClientId('é'.repeat(200))]).toHaveLength(80);
  });
});
