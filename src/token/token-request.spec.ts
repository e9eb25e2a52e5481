import { describe, expect, test } from '@jest/globals';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { MalformedRequestError, type OAuth2HttpRequest } from '../http/http-request.js';
import { CLIENT_CREDENTIALS_GRANT, parseTokenRequest } from './token-request.js';
import { thrownAs, thrownBy as thrown } from '../../test/support/thrown.js';

const FORM = 'application/x-www-form-urlencoded';
const GRANT = { grant_type: 'client_credentials' };
const TOO_LARGE = 'The request body is too large';

function request(
  body: unknown,
  headers: Record<string, string | undefined> = {},
): OAuth2HttpRequest {
  return { method: 'POST', headers: { 'content-type': FORM, ...headers }, body };
}

function expectMalformed(req: OAuth2HttpRequest, message: string, status = 400): void {
  const error = thrown(() => parseTokenRequest(req));
  expect(error).toBeInstanceOf(MalformedRequestError);
  expect((error as MalformedRequestError).message).toBe(message);
  expect((error as MalformedRequestError).status).toBe(status);
}

/** A body of `bytes` bytes as parsed names plus values (the measure used without Content-Length). */
function bodyOfSize(bytes: number): Record<string, string> {
  const base = Buffer.byteLength('grant_type') + Buffer.byteLength('client_credentials');
  return { ...GRANT, pad: 'x'.repeat(bytes - base - Buffer.byteLength('pad')) };
}

describe('parseTokenRequest', () => {
  test('RFC 6749 §4.4.2: grant_type client_credentials, no scope', () => {
    expect(parseTokenRequest(request(GRANT))).toStrictEqual({
      grantType: 'client_credentials',
      scope: undefined,
      resources: [],
    });
    expect(CLIENT_CREDENTIALS_GRANT).toBe('client_credentials');
  });

  test('RFC 6749 §4.4.2: the scope is returned as sent', () => {
    expect(parseTokenRequest(request({ ...GRANT, scope: 'b a  b' }))).toStrictEqual({
      grantType: 'client_credentials',
      scope: 'b a  b',
      resources: [],
    });
  });

  describe('RFC 8707 §2 resource', () => {
    test('may repeat: every one, in order, duplicates collapsed', () => {
      const resources = ['https://api.example.com/a', 'urn:example:b', 'https://api.example.com/a'];
      expect(parseTokenRequest(request({ ...GRANT, resource: resources })).resources).toEqual([
        'https://api.example.com/a',
        'urn:example:b',
      ]);
      expect(
        parseTokenRequest(request({ ...GRANT, resource: 'https://api.example.com' })).resources,
      ).toEqual(['https://api.example.com']);
    });

    test.each([
      ['a fragment', 'https://api.example.com/#x'],
      ['an empty fragment', 'https://api.example.com/#'],
      ['a relative reference', '/api/reports'],
      ['no scheme', 'api.example.com'],
      ['empty', ''],
      ['not a URI', 'https://exa mple.com'],
    ])('%s → invalid_target', (_name, resource) => {
      const error = thrownAs(OAuth2Error, () =>
        parseTokenRequest(request({ ...GRANT, resource: ['https://ok.example', resource] })),
      );
      expect([error.error, error.getStatus()]).toEqual(['invalid_target', 400]);
    });

    test('a bracketed resource is malformed, as other defined parameters', () => {
      expect(() =>
        parseTokenRequest(request({ ...GRANT, 'resource[x]': 'https://api.example.com' })),
      ).toThrow(MalformedRequestError);
      expect(() =>
        parseTokenRequest(request({ ...GRANT, resource: { x: 'https://api.example.com' } })),
      ).toThrow(MalformedRequestError);
    });
  });

  test('RFC 6749 §3.1: an empty scope is an absent scope', () => {
    expect(parseTokenRequest(request({ ...GRANT, scope: '' })).scope).toBeUndefined();
  });

  test('RFC 6749 §3.1: unknown parameters are ignored, even repeated or bracketed', () => {
    expect(
      parseTokenRequest(
        request({ ...GRANT, foo: 'bar', many: ['a', 'b'], nested: { x: '1' }, 'list[]': 'z' }),
      ),
    ).toStrictEqual({ grantType: 'client_credentials', scope: undefined, resources: [] });
  });

  test('client credentials in the body are allowed next to the grant (the strategies read them)', () => {
    expect(
      parseTokenRequest(request({ ...GRANT, client_id: 'id', client_secret: 's' })),
    ).toStrictEqual({ grantType: 'client_credentials', scope: undefined, resources: [] });
  });

  test.each([
    ['application/json', { ...GRANT }],
    ['text/plain', 'grant_type=client_credentials'],
    ['multipart/form-data; boundary=x', { ...GRANT }],
    [undefined, undefined],
  ])('RFC 6749 §3.2: content type %j → MalformedRequestError 400', (contentType, body) => {
    expectMalformed(
      { method: 'POST', headers: { 'content-type': contentType }, body },
      'The request body must be application/x-www-form-urlencoded',
    );
  });

  test('a form body that is not an object → 400', () => {
    expectMalformed(
      request('grant_type=client_credentials'),
      'The request body could not be read as a form',
    );
  });

  test.each([
    ['no grant_type', { scope: 'a' }],
    ['an empty grant_type', { grant_type: '' }],
    ['no body at all', undefined],
  ])('RFC 6749 §4.4.2: %s → missing', (_name, body) => {
    expectMalformed(request(body), 'The grant_type parameter is missing');
  });

  test.each([
    'password',
    'CLIENT_CREDENTIALS',
    'Client_Credentials',
    'client_credentials ',
    ' client_credentials',
    'client_credentials\n',
    'urn:ietf:params:oauth:grant-type:jwt-bearer',
  ])('RFC 6749 §5.2: grant_type %j is unsupported (exact, case-sensitive)', (grantType) => {
    const error = thrown(() => parseTokenRequest(request({ grant_type: grantType })));
    expect(error).toBeInstanceOf(OAuth2Error);
    expect((error as OAuth2Error).error).toBe('unsupported_grant_type');
    expect((error as OAuth2Error).getStatus()).toBe(400);
    expect((error as OAuth2Error).description).toBe(
      'The grant type is not supported by this server',
    );
  });

  describe('RFC 6749 §3.1, §3.2: defined parameters must not be repeated', () => {
    test.each([
      ['grant_type', { grant_type: ['client_credentials', 'client_credentials'] }],
      ['grant_type', { grant_type: { x: 'client_credentials' } }],
      ['scope', { ...GRANT, scope: ['a', 'b'] }],
      ['scope', { ...GRANT, scope: { 0: 'a' } }],
      ['client_id', { ...GRANT, client_id: ['a', 'b'] }],
      ['client_secret', { ...GRANT, client_secret: { x: 's' } }],
    ])('a repeated or parsed-bracketed %s → 400', (name, body) => {
      expectMalformed(request(body), `The ${name} parameter is repeated or malformed`);
    });

    test.each([
      ['scope', 'scope[]'],
      ['scope', 'scope[x]'],
      ['grant_type', 'grant_type[]'],
      ['client_id', 'client_id[0]'],
      ['client_secret', 'client_secret[]'],
    ])('a bracketed %s left as a name (Fastify: %s) → 400', (name, key) => {
      expectMalformed(
        request({ ...GRANT, [key]: 'a' }),
        `The ${name} parameter is repeated or malformed`,
      );
    });

    test('every defined parameter is checked, even before a missing grant_type', () => {
      expectMalformed(
        request({ client_id: ['a', 'b'] }),
        'The client_id parameter is repeated or malformed',
      );
    });

    test('a name starting with a bracket is not a defined parameter', () => {
      expect(parseTokenRequest(request({ ...GRANT, '[scope]': 'a' })).scope).toBeUndefined();
    });
  });

  describe('size limits (413)', () => {
    test('Content-Length over 64 KiB → 413', () => {
      expectMalformed(request(GRANT, { 'content-length': String(64 * 1024 + 1) }), TOO_LARGE, 413);
    });

    test('Content-Length of exactly 64 KiB is accepted', () => {
      expect(
        parseTokenRequest(request(GRANT, { 'content-length': String(64 * 1024) })).grantType,
      ).toBe('client_credentials');
    });

    test('the declared length decides when present', () => {
      expect(
        parseTokenRequest(request(bodyOfSize(64 * 1024 + 1), { 'content-length': '100' }))
          .grantType,
      ).toBe('client_credentials');
    });

    test('chunked (no Content-Length): parsed names and values over 64 KiB → 413', () => {
      expectMalformed(request(bodyOfSize(64 * 1024 + 1)), TOO_LARGE, 413);
    });

    test('chunked: parsed names and values of exactly 64 KiB are accepted', () => {
      expect(parseTokenRequest(request(bodyOfSize(64 * 1024))).grantType).toBe(
        'client_credentials',
      );
    });

    test('chunked: nested values count (a parser that built arrays or objects)', () => {
      const big = 'x'.repeat(40 * 1024);
      expectMalformed(request({ ...GRANT, a: [big], b: { c: big } }), TOO_LARGE, 413);
    });

    test('chunked: sizes are UTF-8 bytes, not characters', () => {
      // 'é' is 2 bytes: 33 000 of them are 66 000 bytes, past the limit in 33 000 characters.
      expectMalformed(request({ ...GRANT, pad: 'é'.repeat(33_000) }), TOO_LARGE, 413);
    });

    test('more than 100 parameters → 413', () => {
      const body: Record<string, string> = { ...GRANT };
      for (let i = 0; Object.keys(body).length < 101; i++) body[`p${i}`] = '1';
      expectMalformed(request(body), TOO_LARGE, 413);
    });

    test('100 parameters are accepted', () => {
      const body: Record<string, string> = { ...GRANT };
      for (let i = 0; Object.keys(body).length < 100; i++) body[`p${i}`] = '1';
      expect(parseTokenRequest(request(body)).grantType).toBe('client_credentials');
    });

    test('the size is checked before the parameters', () => {
      expectMalformed(
        request({ grant_type: ['a', 'b'] }, { 'content-length': '70000' }),
        TOO_LARGE,
        413,
      );
    });
  });
});
