import { describe, expect, test } from '@jest/globals';
import { OAuth2Error } from './oauth2-error.js';
import {
  NO_STORE_HEADERS,
  OAuth2ErrorRenderer,
  type OAuth2ErrorSite,
} from './oauth2-error.renderer.js';

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };
const SCOPE_DESCRIPTION = 'The access token does not grant the scope this resource requires';

interface Case {
  name: string;
  make: () => OAuth2Error;
  headers: Record<string, string>;
}

const renderer = new OAuth2ErrorRenderer('Service');

describe('OAuth2ErrorRenderer on the token endpoint (RFC 6749 §5.1, §5.2)', () => {
  const cases: Case[] = [
    {
      name: 'invalid_client: 401 with a Basic challenge',
      make: () => OAuth2Error.invalidClient(),
      headers: { ...NO_STORE, 'WWW-Authenticate': 'Basic realm="Service"' },
    },
    {
      name: 'invalid_request: no challenge',
      make: () => OAuth2Error.invalidRequest('The grant_type parameter is missing'),
      headers: NO_STORE,
    },
    {
      name: 'unauthorized_client: no challenge',
      make: () => OAuth2Error.unauthorizedClient('Not this grant'),
      headers: NO_STORE,
    },
    {
      name: 'unsupported_grant_type: no challenge',
      make: () => OAuth2Error.unsupportedGrantType(),
      headers: NO_STORE,
    },
    {
      name: 'invalid_scope: no challenge',
      make: () => OAuth2Error.invalidScope('The scope parameter is malformed'),
      headers: NO_STORE,
    },
    {
      name: 'a 413 body: no challenge',
      make: () => OAuth2Error.unreadableBody(413),
      headers: NO_STORE,
    },
    {
      name: 'RFC 9110 §15.5.6: a 405 names the allowed method',
      make: () => OAuth2Error.methodNotAllowed('POST'),
      headers: { ...NO_STORE, Allow: 'POST' },
    },
    {
      name: 'RFC 9110 §10.2.3: storage unavailable says when to retry',
      make: () => OAuth2Error.temporarilyUnavailable(5),
      headers: { ...NO_STORE, 'Retry-After': '5' },
    },
    {
      name: 'RFC 9110 §10.2.3: a shed request says when to retry',
      make: () => OAuth2Error.busy(1),
      headers: { ...NO_STORE, 'Retry-After': '1' },
    },
    {
      name: 'server_error: no challenge',
      make: () => OAuth2Error.serverError(),
      headers: NO_STORE,
    },
    {
      name: 'a host refusal: no challenge',
      make: () => OAuth2Error.refusedByHost(429, 'Too Many Requests'),
      headers: NO_STORE,
    },
    {
      name: 'invalid_token is a resource error: no Bearer challenge here',
      make: () => OAuth2Error.invalidToken('The access token is invalid'),
      headers: NO_STORE,
    },
    {
      name: 'a bare challenge is a resource error: no Bearer challenge here',
      make: () => OAuth2Error.missingToken(),
      headers: NO_STORE,
    },
    {
      name: 'insufficient_scope is a resource error: no challenge, no scope here',
      make: () => OAuth2Error.insufficientScope(['admin']),
      headers: NO_STORE,
    },
  ];

  test.each(cases)('$name', ({ make, headers }) => {
    expect(renderer.headers(make(), 'token-endpoint')).toEqual(headers);
  });

  test('NO_STORE_HEADERS: Cache-Control no-store and Pragma no-cache', () => {
    expect(NO_STORE_HEADERS).toEqual(NO_STORE);
  });

  test('the headers are a fresh object: changing them leaves NO_STORE_HEADERS alone', () => {
    const headers = renderer.headers(OAuth2Error.serverError(), 'token-endpoint');
    headers['Cache-Control'] = 'public';
    expect(NO_STORE_HEADERS['Cache-Control']).toBe('no-store');
    expect(renderer.headers(OAuth2Error.serverError(), 'token-endpoint')).toEqual(NO_STORE);
  });
});

describe('OAuth2ErrorRenderer on a protected resource (RFC 6750 §3)', () => {
  const cases: Case[] = [
    {
      name: '§3.1: no credentials → the bare challenge, without error',
      make: () => OAuth2Error.missingToken(),
      headers: { 'WWW-Authenticate': 'Bearer realm="Service"' },
    },
    {
      name: '§3.1: invalid_request',
      make: () => OAuth2Error.invalidRequest('The access token was sent by more than one method'),
      headers: {
        'WWW-Authenticate':
          'Bearer realm="Service", error="invalid_request", ' +
          'error_description="The access token was sent by more than one method"',
      },
    },
    {
      name: '§3.1: invalid_token',
      make: () => OAuth2Error.invalidToken('The access token expired'),
      headers: {
        'WWW-Authenticate':
          'Bearer realm="Service", error="invalid_token", error_description="The access token expired"',
      },
    },
    {
      name: '§3.1: insufficient_scope with the scope the resource requires',
      make: () => OAuth2Error.insufficientScope(['reports:read', 'reports:write']),
      headers: {
        'WWW-Authenticate':
          'Bearer realm="Service", error="insufficient_scope", ' +
          `error_description="${SCOPE_DESCRIPTION}", scope="reports:read reports:write"`,
      },
    },
    {
      name: 'server_error: no challenge',
      make: () => OAuth2Error.serverError(),
      headers: {},
    },
    {
      name: 'a 503 says when to retry, without a challenge',
      make: () => OAuth2Error.temporarilyUnavailable(5),
      headers: { 'Retry-After': '5' },
    },
    {
      name: 'invalid_client is a token endpoint error: no Basic challenge here',
      make: () => OAuth2Error.invalidClient(),
      headers: {},
    },
    {
      name: 'unsupported_grant_type: no challenge',
      make: () => OAuth2Error.unsupportedGrantType(),
      headers: {},
    },
  ];

  test.each(cases)('$name (and never no-store)', ({ make, headers }) => {
    expect(renderer.headers(make(), 'protected-resource')).toEqual(headers);
  });

  test('§3.1: insufficient_scope with one required scope', () => {
    expect(
      renderer.headers(OAuth2Error.insufficientScope(['admin']), 'protected-resource'),
    ).toEqual({
      'WWW-Authenticate':
        'Bearer realm="Service", error="insufficient_scope", ' +
        `error_description="${SCOPE_DESCRIPTION}", scope="admin"`,
    });
  });

  test('§3: an error without description has realm and error only', () => {
    expect(renderer.headers(new OAuth2Error('invalid_token', 401), 'protected-resource')).toEqual({
      'WWW-Authenticate': 'Bearer realm="Service", error="invalid_token"',
    });
  });

  test('§3: the auth-params come in the order realm, error, error_description, scope', () => {
    const error = new OAuth2Error('insufficient_scope', 403, 'd', { scope: ['a', 'b'] });
    expect(renderer.headers(error, 'protected-resource')['WWW-Authenticate']).toBe(
      'Bearer realm="Service", error="insufficient_scope", error_description="d", scope="a b"',
    );
  });
});

describe('OAuth2ErrorRenderer realm', () => {
  test.each<[OAuth2ErrorSite, () => OAuth2Error, string]>([
    ['token-endpoint', () => OAuth2Error.invalidClient(), 'Basic realm="My API"'],
    [
      'protected-resource',
      () => OAuth2Error.invalidToken('x'),
      'Bearer realm="My API", error="invalid_token", error_description="x"',
    ],
    ['protected-resource', () => OAuth2Error.missingToken(), 'Bearer realm="My API"'],
  ])(
    'RFC 6750 §3 / RFC 7617 §2: the realm given is the realm written (%s)',
    (site, make, challenge) => {
      expect(new OAuth2ErrorRenderer('My API').headers(make(), site)['WWW-Authenticate']).toBe(
        challenge,
      );
    },
  );
});

describe('OAuth2ErrorRenderer with RFC 9728 resource metadata', () => {
  const METADATA = 'https://api.example.com/.well-known/oauth-protected-resource';
  const withMetadata = new OAuth2ErrorRenderer('Service', METADATA);

  test.each<[string, () => OAuth2Error, string]>([
    ['§5.1: the bare challenge', () => OAuth2Error.missingToken(), ''],
    [
      '§5.1: invalid_token',
      () => OAuth2Error.invalidToken('The access token expired'),
      ', error="invalid_token", error_description="The access token expired"',
    ],
    [
      '§5.1: insufficient_scope, after the scope',
      () => OAuth2Error.insufficientScope(['admin']),
      `, error="insufficient_scope", error_description="${SCOPE_DESCRIPTION}", scope="admin"`,
    ],
  ])('%s names the metadata URL last', (_name, make, params) => {
    expect(withMetadata.headers(make(), 'protected-resource')).toEqual({
      'WWW-Authenticate': `Bearer realm="Service"${params}, resource_metadata="${METADATA}"`,
    });
  });

  test('a 503 has no challenge, so no resource_metadata', () => {
    expect(
      withMetadata.headers(OAuth2Error.temporarilyUnavailable(7), 'protected-resource'),
    ).toEqual({ 'Retry-After': '7' });
  });

  test('the token endpoint’s Basic challenge is left alone', () => {
    expect(withMetadata.headers(OAuth2Error.invalidClient(), 'token-endpoint')).toEqual({
      ...NO_STORE,
      'WWW-Authenticate': 'Basic realm="Service"',
    });
  });
});

describe('OAuth2ErrorRenderer: no challenge means no WWW-Authenticate key at all', () => {
  test.each<[string, OAuth2ErrorSite, () => OAuth2Error, string[]]>([
    [
      'server_error on the token endpoint',
      'token-endpoint',
      () => OAuth2Error.serverError(),
      ['Cache-Control', 'Pragma'],
    ],
    [
      'invalid_request on the token endpoint',
      'token-endpoint',
      () => OAuth2Error.invalidRequest('The grant_type parameter is missing'),
      ['Cache-Control', 'Pragma'],
    ],
    [
      'a 503 on the token endpoint',
      'token-endpoint',
      () => OAuth2Error.temporarilyUnavailable(5),
      ['Cache-Control', 'Pragma', 'Retry-After'],
    ],
    [
      'server_error on a protected resource',
      'protected-resource',
      () => OAuth2Error.serverError(),
      [],
    ],
  ])('%s', (_name, site, make, keys) => {
    const headers = new OAuth2ErrorRenderer('Service').headers(make(), site);
    expect('WWW-Authenticate' in headers).toBe(false);
    expect(Object.keys(headers)).toEqual(keys);
  });
});
