import { expect } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request, { type Response, type Test } from 'supertest';
import type { SeedClient } from './app.js';

/** The clients every token suite starts with. */
export const CLIENTS = {
  test: {
    clientId: 'testclient',
    secret: 'testpass',
    grantTypes: 'client_credentials',
    scope: 'reports:read reports:write',
  },
  /** RFC 6749 Appendix B's example: both halves need form-urlencoding inside Basic credentials. */
  appendixB: {
    clientId: 'an:identifier',
    secret: 'some secure & non-standard secret',
    scope: 'reports:read',
  },
  public: {
    clientId: 'public-client',
    secret: null,
    grantTypes: 'client_credentials',
    scope: 'reports:read',
  },
  restricted: {
    clientId: 'code-only',
    secret: 'code-secret',
    grantTypes: 'authorization_code refresh_token',
    scope: 'reports:read',
  },
  allGrants: {
    clientId: 'any-grant',
    secret: 'any-secret',
    grantTypes: null,
    scope: 'reports:read',
  },
  noScope: {
    clientId: 'no-scope',
    secret: 'no-scope-secret',
    grantTypes: 'client_credentials',
    scope: null,
  },
  delegate: {
    clientId: 'delegate',
    secret: 'delegate-secret',
    grantTypes: 'client_credentials',
    scope: 'reports:read',
    userId: 'user-42',
  },
} satisfies Record<string, SeedClient>;

export const tokenRequest = (app: INestApplication, path = '/oauth2/token'): Test =>
  request(app.getHttpServer()).post(path).type('form');

export const basicHeader = (id: string, secret: string): string =>
  'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');

/** RFC 6749 Appendix B: form-urlencode each half, then base64 the pair. */
export const appendixBHeader = (id: string, secret: string): string => {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
  return basicHeader(encode(id), encode(secret));
};

/** RFC 6749 §5.2: error_description is limited to these characters. */
const DESCRIPTION = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

/** Asserts an RFC 6749 §5.2 error response of the token endpoint. */
export function expectTokenError(res: Response, status: number, error: string): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status, error });
  expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
  expect(res.body.error_description).toMatch(DESCRIPTION);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
  expect(res.text).not.toMatch(/statusCode|stack|\bat \w+ \(/);
}

export function expectInvalidClient(res: Response, realm = 'Service'): void {
  expectTokenError(res, 401, 'invalid_client');
  expect(res.headers['www-authenticate']).toBe(`Basic realm="${realm}"`);
}

/** The seed's request body: `-d grant_type=client_credentials`. */
export const GRANT = 'grant_type=client_credentials';
/** `curl -u testclient:testpass`. */
export const TEST_BASIC = basicHeader('testclient', 'testpass');
