import { describe, expect, test } from '@jest/globals';
import { HttpException } from '@nestjs/common';
import { OAuth2Error, type OAuth2ErrorExtras } from './oauth2-error.js';

/** RFC 6749 §5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ). */
const DESCRIPTION = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;
/** RFC 6749 §5.2 / RFC 6750 §3: error = 1*( %x20-21 / %x23-5B / %x5D-7E ), in practice snake_case. */
const ERROR_CODE = /^[a-z_]+$/;
const DESCRIPTION_REFUSED = new TypeError(
  'error_description holds characters RFC 6749 §5.2 does not allow',
);

interface Case {
  name: string;
  make: () => OAuth2Error;
  status: number;
  error: string;
  description: string;
  extras: OAuth2ErrorExtras;
}

const cases: Case[] = [
  {
    name: 'invalidRequest (RFC 6749 §5.2 invalid_request)',
    make: () => OAuth2Error.invalidRequest('The grant_type parameter is missing'),
    status: 400,
    error: 'invalid_request',
    description: 'The grant_type parameter is missing',
    extras: {},
  },
  {
    name: 'invalidRequest with another status',
    make: () => OAuth2Error.invalidRequest('Too large', 413),
    status: 413,
    error: 'invalid_request',
    description: 'Too large',
    extras: {},
  },
  {
    name: 'invalidClient (RFC 6749 §5.2 invalid_client: 401)',
    make: () => OAuth2Error.invalidClient(),
    status: 401,
    error: 'invalid_client',
    description: 'Client authentication failed',
    extras: {},
  },
  {
    name: 'unauthorizedClient (RFC 6749 §5.2 unauthorized_client)',
    make: () => OAuth2Error.unauthorizedClient('The client is not allowed to use this grant type'),
    status: 400,
    error: 'unauthorized_client',
    description: 'The client is not allowed to use this grant type',
    extras: {},
  },
  {
    name: 'unsupportedGrantType (RFC 6749 §5.2 unsupported_grant_type)',
    make: () => OAuth2Error.unsupportedGrantType(),
    status: 400,
    error: 'unsupported_grant_type',
    description: 'The grant type is not supported by this server',
    extras: {},
  },
  {
    name: 'invalidScope (RFC 6749 §5.2 invalid_scope)',
    make: () => OAuth2Error.invalidScope('The scope parameter is malformed'),
    status: 400,
    error: 'invalid_scope',
    description: 'The scope parameter is malformed',
    extras: {},
  },
  {
    name: 'methodNotAllowed (RFC 9110 §15.5.6: 405, Allow in the extras)',
    make: () => OAuth2Error.methodNotAllowed('POST'),
    status: 405,
    error: 'invalid_request',
    description: 'The token endpoint accepts POST only',
    extras: { allow: 'POST' },
  },
  {
    name: 'temporarilyUnavailable (RFC 9110 §10.2.3: 503, Retry-After in the extras)',
    make: () => OAuth2Error.temporarilyUnavailable(5),
    status: 503,
    error: 'server_error',
    description: 'The service is temporarily unavailable, retry later',
    extras: { retryAfter: 5 },
  },
  {
    name: 'busy (load shed: 503, Retry-After in the extras)',
    make: () => OAuth2Error.busy(1),
    status: 503,
    error: 'server_error',
    description: 'The server is busy, retry later',
    extras: { retryAfter: 1 },
  },
  {
    name: 'serverError',
    make: () => OAuth2Error.serverError(),
    status: 500,
    error: 'server_error',
    description: 'The server could not complete the request',
    extras: {},
  },
  {
    name: 'unreadableBody(413) (RFC 9110 §15.5.14: too large stays 413)',
    make: () => OAuth2Error.unreadableBody(413),
    status: 413,
    error: 'invalid_request',
    description: 'The request body is too large',
    extras: {},
  },
  {
    name: 'unreadableBody(415) (any other refusal is the 400 of RFC 6749 §5.2)',
    make: () => OAuth2Error.unreadableBody(415),
    status: 400,
    error: 'invalid_request',
    description: 'The request body could not be read',
    extras: {},
  },
  {
    name: 'refusedByHost (a host 429 keeps its status, the reason phrase as description)',
    make: () => OAuth2Error.refusedByHost(429, 'Too Many Requests'),
    status: 429,
    error: 'invalid_request',
    description: 'Too Many Requests',
    extras: {},
  },
  {
    name: 'invalidToken (RFC 6750 §3.1 invalid_token: 401)',
    make: () => OAuth2Error.invalidToken('The access token expired'),
    status: 401,
    error: 'invalid_token',
    description: 'The access token expired',
    extras: {},
  },
  {
    name: 'insufficientScope (RFC 6750 §3.1 insufficient_scope: 403, scope in the extras)',
    make: () => OAuth2Error.insufficientScope(['reports:read', 'reports:write']),
    status: 403,
    error: 'insufficient_scope',
    description: 'The access token does not grant the scope this resource requires',
    extras: { scope: ['reports:read', 'reports:write'] },
  },
];

describe('OAuth2Error factories', () => {
  test.each(cases)('$name', ({ make, status, error, description, extras }) => {
    const e = make();
    expect(e).toBeInstanceOf(OAuth2Error);
    expect(e).toBeInstanceOf(HttpException);
    expect(e.name).toBe('OAuth2Error');
    expect(e.getStatus()).toBe(status);
    expect(e.error).toBe(error);
    expect(e.description).toBe(description);
    expect(e.extras).toEqual(extras);
    expect(e.body).toEqual({ error, error_description: description });
    // An app that renders HttpExceptions its own way still sends the RFC body.
    expect(e.getResponse()).toEqual({ error, error_description: description });
  });

  test.each(cases)('RFC 6749 §5.2: $name uses only the allowed characters', ({ make }) => {
    const e = make();
    expect(e.error).toMatch(ERROR_CODE);
    expect(e.description).toMatch(DESCRIPTION);
  });

  test('an error knows nothing of realms or headers', () => {
    const e = OAuth2Error.invalidClient();
    expect('headers' in e).toBe(false);
    expect('realm' in e).toBe(false);
  });

  test('refusedByHost: characters a description may not hold are dropped; no reason → "Request refused"', () => {
    expect(OAuth2Error.refusedByHost(418, 'I"m a \\teapot\n').description).toBe('Im a teapot');
    const unnamed = OAuth2Error.refusedByHost(499, undefined);
    expect(unnamed.getStatus()).toBe(499);
    expect(unnamed.description).toBe('Request refused');
  });

  test.each([401, 404, 500])('unreadableBody(%i) is the 400 invalid_request', (status) => {
    expect(OAuth2Error.unreadableBody(status).getStatus()).toBe(400);
  });

  test('insufficientScope keeps the required scopes as given', () => {
    expect(OAuth2Error.insufficientScope(['admin']).extras).toEqual({ scope: ['admin'] });
  });
});

describe('OAuth2Error.missingToken', () => {
  test('RFC 6750 §3.1: no credentials → 401 with no error code, no description, an empty body', () => {
    const e = OAuth2Error.missingToken();
    expect(e).toBeInstanceOf(OAuth2Error);
    expect(e.getStatus()).toBe(401);
    expect(e.error).toBeUndefined();
    expect(e.description).toBeUndefined();
    expect(e.extras).toEqual({});
    expect(e.body).toEqual({});
    expect(Object.keys(e.body)).toEqual([]);
    expect(e.getResponse()).toEqual({});
  });
});

describe('OAuth2Error constructor', () => {
  test.each([
    ['a double quote', 'The "scope" parameter'],
    ['a backslash', 'C:\\path'],
    ['a newline', 'line\nbreak'],
    ['a tab', 'a\tb'],
    ['a non-ASCII character', 'Paramètre invalide'],
    ['DEL', 'a\x7f'],
  ])('RFC 6749 §5.2: a description with %s is refused', (_name, description) => {
    expect(() => new OAuth2Error('invalid_request', 400, description)).toThrow(DESCRIPTION_REFUSED);
  });

  test('RFC 6749 §5.2: the factories check their description too', () => {
    expect(() => OAuth2Error.invalidRequest('bad "input"')).toThrow(DESCRIPTION_REFUSED);
    expect(() => OAuth2Error.invalidToken('bad\\token')).toThrow(DESCRIPTION_REFUSED);
    expect(() => OAuth2Error.invalidScope('bad\nscope')).toThrow(DESCRIPTION_REFUSED);
  });

  test('RFC 6749 §5.2: error_description is OPTIONAL', () => {
    const e = new OAuth2Error('invalid_request', 400);
    expect(e.description).toBeUndefined();
    expect(e.body).toEqual({ error: 'invalid_request' });
    expect(Object.keys(e.body)).toEqual(['error']);
    expect(e.getResponse()).toEqual({ error: 'invalid_request' });
    expect(e.extras).toEqual({});
  });

  test('the status and extras are kept as given', () => {
    const e = new OAuth2Error('server_error', 503, 'Later', { retryAfter: 7, allow: 'GET' });
    expect(e.getStatus()).toBe(503);
    expect(e.extras).toEqual({ retryAfter: 7, allow: 'GET' });
    expect(e.body).toEqual({ error: 'server_error', error_description: 'Later' });
  });

  test('RFC 6749 §5.2: every allowed printable character is accepted', () => {
    const all = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i))
      .filter((c) => c !== '"' && c !== '\\')
      .join('');
    expect(new OAuth2Error('invalid_request', 400, all).description).toBe(all);
  });
});
