import { describe, expect, jest, test } from '@jest/globals';
import passport from 'passport';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { MalformedRequestError, type OAuth2HttpRequest } from '../http/http-request.js';
import { OAuth2Config } from '../oauth2-config.js';
import type { OAuth2ModuleOptions } from '../oauth2-options.interface.js';
import { BUILT_IN_AUTH_METHODS, ClientAuthMethods } from './client-auth-methods.js';
import type { ClientAuthenticator } from './client-authenticator.service.js';
import { ClientSecretPostStrategy } from './form-client.strategies.js';
import { thrownBy } from '../../test/support/thrown.js';

const FORM = 'application/x-www-form-urlencoded';
const TWO_METHODS = 'Client credentials were sent by more than one method';
const b64 = (value: string): string => Buffer.from(value).toString('base64');
const basic = (userPass: string): string => `Basic ${b64(userPass)}`;

const TLS_METHOD = {
  name: 'tls_client_auth',
  strategy: 'host-mtls',
  isPresentIn: (request: OAuth2HttpRequest) => request.headers['x-client-cert'] !== undefined,
};

function methods(options: Partial<OAuth2ModuleOptions> = {}): ClientAuthMethods {
  return new ClientAuthMethods(
    new OAuth2Config({
      issuer: 'https://auth.example.com',
      signing: { algorithm: 'HS256', secret: 'x'.repeat(32) },
      ...options,
    }),
  );
}

function request(
  body: unknown,
  headers: Record<string, string | string[] | undefined> = {},
  extra: Record<string, unknown> = {},
): OAuth2HttpRequest {
  return { method: 'POST', headers: { 'content-type': FORM, ...headers }, body, ...extra };
}

function expectOAuth2Error(
  fn: () => unknown,
  error: string,
  status: number,
  description: string,
): void {
  const thrown = thrownBy(fn);
  expect(thrown).toBeInstanceOf(OAuth2Error);
  expect((thrown as OAuth2Error).error).toBe(error);
  expect((thrown as OAuth2Error).getStatus()).toBe(status);
  expect((thrown as OAuth2Error).description).toBe(description);
}

const expectTwoMethods = (fn: () => unknown): void =>
  expectOAuth2Error(fn, 'invalid_request', 400, TWO_METHODS);
const expectInvalidClient = (fn: () => unknown): void =>
  expectOAuth2Error(fn, 'invalid_client', 401, 'Client authentication failed');

function expectMalformed(fn: () => unknown, message: string): void {
  const thrown = thrownBy(fn);
  expect(thrown).toBeInstanceOf(MalformedRequestError);
  expect((thrown as MalformedRequestError).message).toBe(message);
  expect((thrown as MalformedRequestError).status).toBe(400);
}

describe('ClientAuthMethods strategy names', () => {
  test('namespaced by method and module instance: oauth2:<method>:<n>', () => {
    const m = methods();
    const basicName = m.strategyName('client_secret_basic');
    const n = /^oauth2:client_secret_basic:(\d+)$/.exec(basicName)?.[1];
    expect(n).toBeDefined();
    expect(m.strategyName('client_secret_post')).toBe(`oauth2:client_secret_post:${n}`);
    expect(m.strategyName('private_key_jwt')).toBe(`oauth2:private_key_jwt:${n}`);
    expect(m.strategyName('none')).toBe(`oauth2:none:${n}`);
  });

  test('two instances (two apps in one process) never share a name', () => {
    const a = methods();
    const b = methods();
    for (const method of BUILT_IN_AUTH_METHODS) {
      expect(a.strategyName(method)).not.toBe(b.strategyName(method));
    }
  });

  test('one instance keeps its names', () => {
    const m = methods();
    expect(m.strategyName('none')).toBe(m.strategyName('none'));
  });

  test('never the bare names a host app registers (basic, custom)', () => {
    const m = methods();
    expect(m.strategyName('client_secret_basic')).not.toBe('basic');
    expect(m.strategyName('client_secret_post')).not.toBe('custom');
  });
});

describe('ClientAuthMethods.supported (RFC 8414 token_endpoint_auth_methods_supported)', () => {
  test.each<[string, Partial<OAuth2ModuleOptions>, string[]]>([
    ['defaults', {}, ['client_secret_basic', 'client_secret_post', 'private_key_jwt']],
    [
      'body credentials off',
      { allowCredentialsInRequestBody: false },
      ['client_secret_basic', 'private_key_jwt'],
    ],
    [
      'public clients on',
      { allowPublicClients: true },
      ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    ],
    [
      'a method of your own',
      { clientAuthMethods: [TLS_METHOD] },
      ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'tls_client_auth'],
    ],
    [
      'everything',
      { allowPublicClients: true, clientAuthMethods: [TLS_METHOD] },
      ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'tls_client_auth', 'none'],
    ],
    [
      'only Basic and public',
      { allowCredentialsInRequestBody: false, allowPublicClients: true },
      ['client_secret_basic', 'private_key_jwt', 'none'],
    ],
  ])('%s', (_name, options, supported) => {
    expect(methods(options).supported).toEqual(supported);
  });
});

describe('ClientAuthMethods.strategyFor (RFC 6749 §2.3)', () => {
  const m = methods({ allowPublicClients: true, clientAuthMethods: [TLS_METHOD] });
  const BASIC = m.strategyName('client_secret_basic');
  const POST = m.strategyName('client_secret_post');
  const NONE = m.strategyName('none');

  describe('client_secret_basic', () => {
    test('RFC 6749 §2.3.1: HTTP Basic alone', () => {
      expect(
        m.strategyFor(
          request({ grant_type: 'client_credentials' }, { authorization: basic('id:s') }),
        ),
      ).toBe(BASIC);
    });

    test('RFC 6749 §2.3.1: Basic works even when body credentials are disallowed', () => {
      const strict = methods({ allowCredentialsInRequestBody: false });
      expect(strict.strategyFor(request({}, { authorization: basic('id:s') }))).toBe(
        strict.strategyName('client_secret_basic'),
      );
    });

    test('RFC 6749 §2.3: Basic plus an equal or different body client_id is still one method', () => {
      // The strategy compares the two ids; presence alone decides the method.
      expect(m.strategyFor(request({ client_id: 'id' }, { authorization: basic('id:s') }))).toBe(
        BASIC,
      );
      expect(m.strategyFor(request({ client_id: 'other' }, { authorization: basic('id:s') }))).toBe(
        BASIC,
      );
    });

    test.each(['Bearer abc', 'Digest username="a"', 'Negotiate', 'Basic !!!', 'basic'])(
      'any Authorization scheme counts as the basic method (%s): its strategy refuses it',
      (authorization) => {
        expect(m.strategyFor(request({}, { authorization }))).toBe(BASIC);
      },
    );

    test('a non-Basic Authorization scheme next to body credentials is two methods → 400', () => {
      expectTwoMethods(() =>
        m.strategyFor(
          request({ client_id: 'id', client_secret: 's' }, { authorization: 'Digest x' }),
        ),
      );
    });

    test('RFC 7617: a malformed Basic header next to body credentials → 400', () => {
      expectTwoMethods(() =>
        m.strategyFor(
          request({ client_id: 'id', client_secret: 's' }, { authorization: 'Basic !!!' }),
        ),
      );
    });

    test('RFC 9110 §11.4: an Authorization header that is not `scheme [1*SP credentials]` → 400', () => {
      expectMalformed(
        () => m.strategyFor(request({}, { authorization: `Basic\t${b64('id:s')}` })),
        'The Authorization header is malformed',
      );
      expectMalformed(
        () => m.strategyFor(request({}, { authorization: '' })),
        'The Authorization header is malformed',
      );
    });

    test('Basic with a non-form body still picks Basic (the body is read later)', () => {
      expect(
        m.strategyFor({
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: basic('id:s') },
          body: { client_secret: 's' },
        }),
      ).toBe(BASIC);
    });
  });

  describe('two methods', () => {
    test('RFC 6749 §2.3: Basic plus a body client_secret → 400 invalid_request', () => {
      expectTwoMethods(() =>
        m.strategyFor(
          request({ client_id: 'id', client_secret: 's' }, { authorization: basic('id:s') }),
        ),
      );
      expectTwoMethods(() =>
        m.strategyFor(request({ client_secret: 's' }, { authorization: basic('id:s') })),
      );
    });

    test('RFC 6749 §3.2: a repeated client_secret next to Basic is two methods too → 400', () => {
      expectTwoMethods(() =>
        m.strategyFor(request({ client_secret: ['a', 'b'] }, { authorization: basic('id:s') })),
      );
    });

    test('Basic plus a body client_secret → 400 even when body credentials are disallowed', () => {
      const strict = methods({ allowCredentialsInRequestBody: false });
      expectTwoMethods(() =>
        strict.strategyFor(request({ client_secret: 's' }, { authorization: basic('id:s') })),
      );
    });

    test('a custom method plus Basic → 400', () => {
      expectTwoMethods(() =>
        m.strategyFor(request({}, { authorization: basic('id:s'), 'x-client-cert': 'pem' })),
      );
    });

    test('a custom method plus a body client_secret → 400', () => {
      expectTwoMethods(() =>
        m.strategyFor(request({ client_id: 'id', client_secret: 's' }, { 'x-client-cert': 'pem' })),
      );
    });
  });

  describe('private_key_jwt', () => {
    const PKJWT = m.strategyName('private_key_jwt');
    const TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

    test('RFC 7521 §4.2: client_assertion_type and client_assertion, with or without client_id', () => {
      expect(
        m.strategyFor(request({ client_assertion_type: TYPE, client_assertion: 'a.b.c' })),
      ).toBe(PKJWT);
      expect(
        m.strategyFor(
          request({ client_id: 'id', client_assertion_type: TYPE, client_assertion: 'a.b.c' }),
        ),
      ).toBe(PKJWT);
    });

    test('either parameter alone shows the method (its strategy refuses the request)', () => {
      expect(m.strategyFor(request({ client_assertion: 'a.b.c' }))).toBe(PKJWT);
      expect(m.strategyFor(request({ client_assertion_type: TYPE, client_id: 'id' }))).toBe(PKJWT);
    });

    test('enabled whatever the body-credentials and public-client settings', () => {
      const strict = methods({ allowCredentialsInRequestBody: false });
      expect(strict.strategyFor(request({ client_assertion: 'a.b.c' }))).toBe(
        strict.strategyName('private_key_jwt'),
      );
    });

    test('RFC 6749 §2.3: an assertion plus Basic, or plus a client_secret → 400 invalid_request', () => {
      expectTwoMethods(() =>
        m.strategyFor(request({ client_assertion: 'a.b.c' }, { authorization: basic('id:s') })),
      );
      expectTwoMethods(() =>
        m.strategyFor(
          request({ client_id: 'id', client_secret: 's', client_assertion_type: TYPE }),
        ),
      );
    });
  });

  describe('client_secret_post', () => {
    test('RFC 6749 §2.3.1: client_id and client_secret in the body', () => {
      expect(
        m.strategyFor(
          request({ grant_type: 'client_credentials', client_id: 'id', client_secret: 's' }),
        ),
      ).toBe(POST);
    });

    test('a body client_secret without client_id is the post method (its strategy refuses it)', () => {
      expect(m.strategyFor(request({ client_secret: 's' }))).toBe(POST);
    });

    test('a repeated or bracketed body parameter is still the post method (its strategy refuses it)', () => {
      expect(m.strategyFor(request({ client_id: ['a', 'b'], client_secret: 's' }))).toBe(POST);
      expect(m.strategyFor(request({ client_id: 'a', client_secret: ['s', 't'] }))).toBe(POST);
    });

    test('RFC 6749 §3.2: a form content type with parameters and any case is read', () => {
      expect(
        m.strategyFor({
          method: 'POST',
          headers: { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' },
          body: { client_id: 'id', client_secret: 's' },
        }),
      ).toBe(POST);
    });

    test('RFC 6749 §2.3.1: a body secret while body credentials are disallowed → 401 invalid_client', () => {
      const strict = methods({ allowCredentialsInRequestBody: false, allowPublicClients: true });
      expectInvalidClient(() =>
        strict.strategyFor(request({ client_id: 'id', client_secret: 's' })),
      );
      expectInvalidClient(() => strict.strategyFor(request({ client_secret: 's' })));
    });
  });

  describe('none (public clients, RFC 6749 §2.1, §3.2.1)', () => {
    test('client_id alone is the none method while allowPublicClients is on', () => {
      expect(m.strategyFor(request({ grant_type: 'client_credentials', client_id: 'pub' }))).toBe(
        NONE,
      );
    });

    test('client_id alone → 401 invalid_client while allowPublicClients is off', () => {
      expectInvalidClient(() => methods().strategyFor(request({ client_id: 'pub' })));
    });

    test('client_id alone with body secrets disallowed is still the none method', () => {
      const strict = methods({ allowCredentialsInRequestBody: false, allowPublicClients: true });
      expect(strict.strategyFor(request({ client_id: 'pub' }))).toBe(strict.strategyName('none'));
    });

    test('a client_id with an empty client_secret is the none method (empty = omitted)', () => {
      expect(m.strategyFor(request({ client_id: 'id', client_secret: '' }))).toBe(NONE);
    });

    test('a repeated client_id alone is the none method (its strategy refuses it)', () => {
      expect(m.strategyFor(request({ client_id: { x: 'a' } }))).toBe(NONE);
    });
  });

  describe('a method of your own', () => {
    test('present → its strategy', () => {
      expect(m.strategyFor(request({}, { 'x-client-cert': 'pem' }))).toBe('host-mtls');
    });

    test('present next to a client_id alone → its strategy (client_id alone is no method)', () => {
      expect(m.strategyFor(request({ client_id: 'id' }, { 'x-client-cert': 'pem' }))).toBe(
        'host-mtls',
      );
    });

    test('its isPresentIn is given the request', () => {
      const isPresentIn = jest.fn((_request: OAuth2HttpRequest) => true);
      const custom = methods({ clientAuthMethods: [{ ...TLS_METHOD, isPresentIn }] });
      const req = request({});
      expect(custom.strategyFor(req)).toBe('host-mtls');
      expect(isPresentIn).toHaveBeenCalledWith(req);
    });
  });

  describe('no method at all → 401 invalid_client (RFC 6749 §5.2)', () => {
    test.each([
      ['a body without credentials', { grant_type: 'client_credentials' }],
      ['no body', undefined],
      ['a null body', null],
      ['empty client_id and client_secret (empty = omitted)', { client_id: '', client_secret: '' }],
    ])('%s', (_name, body) => {
      expectInvalidClient(() => m.strategyFor(request(body)));
    });

    test('RFC 6749 §2.3.1 / RFC 6819 §5.4.1: credentials in the query string are never read', () => {
      expectInvalidClient(() =>
        m.strategyFor(
          request(
            {},
            {},
            {
              query: { client_id: 'id', client_secret: 's' },
              url: '/token?client_id=id&client_secret=s',
            },
          ),
        ),
      );
    });

    test('inherited properties are not parameters', () => {
      const body = Object.create({ client_id: 'proto', client_secret: 's' }) as object;
      expectInvalidClient(() => m.strategyFor(request(body)));
    });

    test.each([
      ['application/json', { client_id: 'id', client_secret: 's' }],
      ['multipart/form-data; boundary=x', { client_id: 'id' }],
      ['application/x-www-form-urlencodedx', { client_id: 'id' }],
      [undefined, { client_id: 'id', client_secret: 's' }],
    ])(
      'RFC 6749 §2.3.1: credentials in a %j body are not body credentials',
      (contentType, body) => {
        expectInvalidClient(() =>
          m.strategyFor({ method: 'POST', headers: { 'content-type': contentType }, body }),
        );
      },
    );
  });

  test('RFC 6749 §3.2: a form body that is not an object → 400', () => {
    expectMalformed(
      () => m.strategyFor(request('client_id=id')),
      'The request body could not be read as a form',
    );
    expectMalformed(
      () => m.strategyFor(request(['client_id'])),
      'The request body could not be read as a form',
    );
  });
});

describe('ClientAuthMethods.onModuleDestroy', () => {
  test('takes exactly this instance’s four strategies out of passport', () => {
    const m = methods();
    const other = methods();
    const unuse = jest.spyOn(passport, 'unuse');
    try {
      m.onModuleDestroy();
      expect(unuse.mock.calls).toEqual([
        [m.strategyName('client_secret_basic')],
        [m.strategyName('client_secret_post')],
        [m.strategyName('private_key_jwt')],
        [m.strategyName('none')],
      ]);
      expect(unuse.mock.calls.flat()).not.toContain(other.strategyName('client_secret_basic'));
    } finally {
      unuse.mockRestore();
    }
  });

  test('a strategy registered under its name is gone afterwards; another instance’s stays', () => {
    const m = methods();
    const other = methods();
    const strategy = { name: 'x', authenticate: () => undefined } as unknown as passport.Strategy;
    passport.use(m.strategyName('none'), strategy);
    passport.use(other.strategyName('none'), strategy);
    try {
      m.onModuleDestroy();
      const registry = (passport as unknown as { _strategies: Record<string, unknown> })
        ._strategies;
      expect(registry[m.strategyName('none')]).toBeUndefined();
      expect(registry[other.strategyName('none')]).toBe(strategy);
    } finally {
      passport.unuse(other.strategyName('none'));
    }
  });
});

describe('ClientAuthMethods and the strategies registered in passport', () => {
  test('body credentials pick exactly the name ClientSecretPostStrategy registered under', () => {
    const m = methods();
    const strategy = new ClientSecretPostStrategy({} as ClientAuthenticator, m);
    try {
      const name = m.strategyFor(request({ client_id: 'id', client_secret: 's' }));
      expect(name).toBe(m.strategyName('client_secret_post'));
      const registry = (passport as unknown as { _strategies: Record<string, unknown> })
        ._strategies;
      expect(registry[name]).toBe(strategy);
    } finally {
      m.onModuleDestroy();
    }
  });
});
