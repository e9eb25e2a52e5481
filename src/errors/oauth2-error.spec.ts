import { describe, expect, test } from '@jest/globals';
import { HttpException } from '@nestjs/common';
import { OAuth2Error } from './oauth2-error.js';

/** RFC 6749 §5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ). */
const DESCRIPTION = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;
/** RFC 6749 §5.2 / RFC 6750 §3: error = 1*( %x20-21 / %x23-5B / %x5D-7E ), in practice snake_case. */
const ERROR_CODE = /^[a-z_]+$/;

interface Case {
  name: string;
  make: () => OAuth2Error;
  status: number;
  error: string;
  description: string;
  headers: Record<string, string>;
}

const cases: Case[] = [
  {
    name: 'invalidRequest (RFC 6749 §5.2 invalid_request)',
    make: () => OAuth2Error.invalidRequest('The grant_type parameter is missing'),
    status: 400,
    error: 'invalid_request',
    description: 'The grant_type parameter is missing',
    headers: {},
  },
  {
    name: 'invalidRequest with another status',
    make: () => OAuth2Error.invalidRequest('Too large', 413),
    status: 413,
    error: 'invalid_request',
    description: 'Too large',
    headers: {},
  },
  {
    name: 'invalidClient (RFC 6749 §5.2 invalid_client: 401 + challenge)',
    make: () => OAuth2Error.invalidClient('Service'),
    status: 401,
    error: 'invalid_client',
    description: 'Client authentication failed',
    headers: { 'WWW-Authenticate': 'Basic realm="Service"' },
  },
  {
    name: 'unauthorizedClient (RFC 6749 §5.2 unauthorized_client)',
    make: () => OAuth2Error.unauthorizedClient('The client is not allowed to use this grant type'),
    status: 400,
    error: 'unauthorized_client',
    description: 'The client is not allowed to use this grant type',
    headers: {},
  },
  {
    name: 'unsupportedGrantType (RFC 6749 §5.2 unsupported_grant_type)',
    make: () => OAuth2Error.unsupportedGrantType(),
    status: 400,
    error: 'unsupported_grant_type',
    description: 'The grant type is not supported by this server',
    headers: {},
  },
  {
    name: 'invalidScope (RFC 6749 §5.2 invalid_scope)',
    make: () => OAuth2Error.invalidScope('The scope parameter is malformed'),
    status: 400,
    error: 'invalid_scope',
    description: 'The scope parameter is malformed',
    headers: {},
  },
  {
    name: 'methodNotAllowed (RFC 9110 §15.5.6: 405 + Allow)',
    make: () => OAuth2Error.methodNotAllowed('POST'),
    status: 405,
    error: 'invalid_request',
    description: 'The token endpoint accepts POST only',
    headers: { Allow: 'POST' },
  },
  {
    name: 'temporarilyUnavailable (RFC 9110 §10.2.3: 503 + Retry-After)',
    make: () => OAuth2Error.temporarilyUnavailable(5),
    status: 503,
    error: 'server_error',
    description: 'The service is temporarily unavailable, retry later',
    headers: { 'Retry-After': '5' },
  },
  {
    name: 'serverError',
    make: () => OAuth2Error.serverError(),
    status: 500,
    error: 'server_error',
    description: 'The server could not complete the request',
    headers: {},
  },
  {
    name: 'invalidBearerRequest (RFC 6750 §3.1 invalid_request: 400)',
    make: () =>
      OAuth2Error.invalidBearerRequest('Service', 'The request carries more than one token'),
    status: 400,
    error: 'invalid_request',
    description: 'The request carries more than one token',
    headers: {
      'WWW-Authenticate':
        'Bearer realm="Service", error="invalid_request", error_description="The request carries more than one token"',
    },
  },
  {
    name: 'invalidToken (RFC 6750 §3.1 invalid_token: 401)',
    make: () => OAuth2Error.invalidToken('Service', 'The access token expired'),
    status: 401,
    error: 'invalid_token',
    description: 'The access token expired',
    headers: {
      'WWW-Authenticate':
        'Bearer realm="Service", error="invalid_token", error_description="The access token expired"',
    },
  },
  {
    name: 'insufficientScope (RFC 6750 §3.1 insufficient_scope: 403 + scope)',
    make: () => OAuth2Error.insufficientScope('Service', ['reports:read', 'reports:write']),
    status: 403,
    error: 'insufficient_scope',
    description: 'The access token does not grant the scope this resource requires',
    headers: {
      'WWW-Authenticate':
        'Bearer realm="Service", error="insufficient_scope", ' +
        'error_description="The access token does not grant the scope this resource requires", ' +
        'scope="reports:read reports:write"',
    },
  },
];

describe('OAuth2Error factories', () => {
  test.each(cases)('$name', ({ make, status, error, description, headers }) => {
    const e = make();
    expect(e).toBeInstanceOf(OAuth2Error);
    expect(e).toBeInstanceOf(HttpException);
    expect(e.name).toBe('OAuth2Error');
    expect(e.getStatus()).toBe(status);
    expect(e.error).toBe(error);
    expect(e.description).toBe(description);
    expect(e.headers).toEqual(headers);
    expect(e.body).toEqual({ error, error_description: description });
    // An app that renders HttpExceptions its own way still sends the RFC body.
    expect(e.getResponse()).toEqual({ error, error_description: description });
  });

  test.each(cases)('RFC 6749 §5.2: $name uses only the allowed characters', ({ make }) => {
    const e = make();
    expect(e.error).toMatch(ERROR_CODE);
    expect(e.description).toMatch(DESCRIPTION);
  });

  test('RFC 6750 §3: the realm given is the realm written', () => {
    expect(OAuth2Error.invalidClient('My API').headers).toEqual({
      'WWW-Authenticate': 'Basic realm="My API"',
    });
    expect(OAuth2Error.invalidToken('My API', 'x').headers['WWW-Authenticate']).toBe(
      'Bearer realm="My API", error="invalid_token", error_description="x"',
    );
  });

  test('RFC 6750 §3: insufficient_scope with one required scope', () => {
    expect(OAuth2Error.insufficientScope('Service', ['admin']).headers['WWW-Authenticate']).toBe(
      'Bearer realm="Service", error="insufficient_scope", ' +
        'error_description="The access token does not grant the scope this resource requires", ' +
        'scope="admin"',
    );
  });
});

describe('OAuth2Error.bearerChallenge', () => {
  test('RFC 6750 §3.1: no credentials → 401 with the bare challenge, no error, no body', () => {
    const e = OAuth2Error.bearerChallenge('Service');
    expect(e.getStatus()).toBe(401);
    expect(e.error).toBeUndefined();
    expect(e.description).toBeUndefined();
    expect(e.body).toBeUndefined();
    expect(e.headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="Service"' });
    expect(e.headers['WWW-Authenticate']).not.toContain('error');
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
    expect(() => new OAuth2Error('invalid_request', description, 400)).toThrow(
      new TypeError('error_description holds characters RFC 6749 §5.2 does not allow'),
    );
  });

  test('RFC 6749 §5.2: the factories check their description too', () => {
    expect(() => OAuth2Error.invalidRequest('bad "input"')).toThrow(TypeError);
    expect(() => OAuth2Error.invalidToken('Service', 'bad\\token')).toThrow(TypeError);
  });

  test('RFC 6749 §5.2: error_description is OPTIONAL', () => {
    const e = new OAuth2Error('invalid_grant', undefined, 400);
    expect(e.body).toEqual({ error: 'invalid_grant' });
    expect(Object.keys(e.body!)).toEqual(['error']);
    expect(e.getResponse()).toEqual({ error: 'invalid_grant' });
    expect(e.headers).toEqual({});
  });

  test('RFC 6749 §5.2: every allowed printable character is accepted', () => {
    const all = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i))
      .filter((c) => c !== '"' && c !== '\\')
      .join('');
    expect(new OAuth2Error('invalid_request', all, 400).description).toBe(all);
  });
});
