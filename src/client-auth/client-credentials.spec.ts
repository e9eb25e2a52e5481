import { describe, expect, test } from '@jest/globals';
import { OAuth2Error } from '../errors/oauth2-error.js';
import type { OAuth2HttpRequest } from '../token/form-request.js';
import {
  decodeFormComponent,
  parseBasicAuthorization,
  readClientCredentials,
} from './client-credentials.js';

const FORM = 'application/x-www-form-urlencoded';
const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64');
const basic = (userPass: string): string => `Basic ${b64(userPass)}`;

/** Runs `fn` and returns what it threw, failing the test when it returned instead. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw, but the call returned');
}

function expectInvalidRequest(fn: () => unknown, description?: string): void {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(OAuth2Error);
  const oauth = error as OAuth2Error;
  expect(oauth.error).toBe('invalid_request');
  expect(oauth.getStatus()).toBe(400);
  expect(oauth.headers).toEqual({});
  if (description !== undefined) expect(oauth.description).toBe(description);
}

function request(
  body: unknown,
  headers: Record<string, string | string[] | undefined> = {},
  extra: Record<string, unknown> = {},
): OAuth2HttpRequest {
  return { method: 'POST', headers: { 'content-type': FORM, ...headers }, body, ...extra };
}

describe('parseBasicAuthorization', () => {
  test('RFC 7617 §2: decodes id and secret', () => {
    expect(parseBasicAuthorization(basic('testclient:testpass'))).toEqual({
      clientId: 'testclient',
      clientSecret: 'testpass',
    });
  });

  test.each(['basic', 'BASIC', 'bAsIc'])(
    'RFC 9110 §11.1: the scheme name is case-insensitive (%s)',
    (scheme) => {
      expect(parseBasicAuthorization(`${scheme} ${b64('id:secret')}`)).toEqual({
        clientId: 'id',
        clientSecret: 'secret',
      });
    },
  );

  test.each(['Bearer abc.def.ghi', 'Digest username="a", realm="b"', 'Negotiate', 'Basically x'])(
    'RFC 9110 §11.4: another scheme is not ours, returns undefined (%s)',
    (header) => {
      expect(parseBasicAuthorization(header)).toBeUndefined();
    },
  );

  test.each([
    ['missing padding', 'Basic YWI6Y2Q'],
    ['bad characters', 'Basic YWI6Y2Q-'],
    ['base64url alphabet', 'Basic YWI_Y2Q='],
    ['trailing garbage', `Basic ${b64('ab:cd')}xx`],
    ['padding in the middle', 'Basic YQ==YWI6Y2Q='],
    ['embedded space', 'Basic YWI6 Y2Q='],
    ['trailing newline', `Basic ${b64('ab:cd')}\n`],
    ['no credentials at all', 'Basic'],
    ['empty credentials', 'Basic '],
  ])('RFC 4648 §3.3 / RFC 7617 §2: strict base64, %s → 400 invalid_request', (_name, header) => {
    expectInvalidRequest(() => parseBasicAuthorization(header));
  });

  test('RFC 4648 §3.5: canonical padding accepted', () => {
    // 'ab:c' → YWI6Yw== and 'ab:cd' → YWI6Y2Q=: the canonical encodings have zero pad bits.
    expect(parseBasicAuthorization('Basic YWI6Yw==')).toEqual({
      clientId: 'ab',
      clientSecret: 'c',
    });
    expect(parseBasicAuthorization('Basic YWI6Y2Q=')).toEqual({
      clientId: 'ab',
      clientSecret: 'cd',
    });
  });

  test('RFC 9110 §11.4: a header that is not `scheme [SP credentials]` is 400 invalid_request', () => {
    expectInvalidRequest(
      () => parseBasicAuthorization(''),
      'The Authorization header is malformed',
    );
    expectInvalidRequest(() => parseBasicAuthorization(` ${basic('a:b')}`));
    expectInvalidRequest(() => parseBasicAuthorization(`Basic\t${b64('a:b')}`));
    expectInvalidRequest(() => parseBasicAuthorization(`Basic: ${b64('a:b')}`));
  });

  test('more than one space after the scheme is refused with 400 (stricter than RFC 9110 §11.4 1*SP)', () => {
    expectInvalidRequest(
      () => parseBasicAuthorization(`Basic  ${b64('a:b')}`),
      'The Basic credentials are not valid base64',
    );
  });

  test.each([
    ['no colon', 'testclient'],
    ['empty client id', ':secret'],
    ['only a colon', ':'],
  ])('RFC 7617 §2: user-pass = user-id ":" password, %s → 400', (_name, userPass) => {
    expectInvalidRequest(
      () => parseBasicAuthorization(basic(userPass)),
      'The Basic credentials lack a client id',
    );
  });

  test('RFC 7617 §2: splits at the FIRST colon, a secret holding ":" is kept whole', () => {
    expect(parseBasicAuthorization(basic('client:se:cr:et'))).toEqual({
      clientId: 'client',
      clientSecret: 'se:cr:et',
    });
  });

  test('RFC 7617 §2: an empty password is passed through as an empty secret', () => {
    expect(parseBasicAuthorization(basic('client:'))).toEqual({
      clientId: 'client',
      clientSecret: '',
    });
  });

  test('RFC 6749 Appendix B: id and secret are form-urlencoded (the RFC example)', () => {
    expect(
      parseBasicAuthorization(basic('an%3Aidentifier:some+secure+%26+non-standard+secret')),
    ).toEqual({ clientId: 'an:identifier', clientSecret: 'some secure & non-standard secret' });
  });

  test('RFC 6749 Appendix B: %XX octets are UTF-8, %2B is a literal plus', () => {
    expect(parseBasicAuthorization(basic('caf%C3%A9:a%2Bb+c'))).toEqual({
      clientId: 'café',
      clientSecret: 'a+b c',
    });
  });

  test.each([
    ['lone percent in the id', '50%:secret'],
    ['truncated escape in the secret', 'client:abc%4'],
    ['non-hex escape', 'client:%zz'],
    ['escape of an invalid UTF-8 octet', 'client:%FF'],
  ])('RFC 6749 Appendix B: malformed percent-encoding, %s → 400', (_name, userPass) => {
    expectInvalidRequest(
      () => parseBasicAuthorization(basic(userPass)),
      'The client credentials are not correctly form-urlencoded',
    );
  });

  test('RFC 7617 §2.1: credentials that are not valid UTF-8 → 400', () => {
    expectInvalidRequest(
      () => parseBasicAuthorization(`Basic ${b64(Buffer.from([0xff, 0x3a, 0x61]))}`),
      'The Basic credentials are not valid UTF-8',
    );
    expectInvalidRequest(() =>
      parseBasicAuthorization(`Basic ${b64(Buffer.from([0x61, 0x3a, 0xc3, 0x28]))}`),
    );
  });

  test('RFC 7617 §2.1: raw UTF-8 credentials decode', () => {
    expect(parseBasicAuthorization(basic('clïent:sécret'))).toEqual({
      clientId: 'clïent',
      clientSecret: 'sécret',
    });
  });
});

describe('parseBasicAuthorization: canonical base64 (RFC 4648 §3.5)', () => {
  test.each([
    ['one pad character, non-zero unused bits', 'Basic YWI6Y2R='],
    ['two pad characters, non-zero unused bits', 'Basic YWI6Yx=='],
  ])('%s is a 400 invalid_request', (_name, header) => {
    let thrown: unknown;
    try {
      parseBasicAuthorization(header);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(OAuth2Error);
    expect((thrown as OAuth2Error).error).toBe('invalid_request');
    expect((thrown as OAuth2Error).getStatus()).toBe(400);
    expect((thrown as OAuth2Error).description).toBe('The Basic credentials are not valid base64');
  });
});

describe('decodeFormComponent', () => {
  test.each([
    ['plain', 'plain'],
    ['a+b', 'a b'],
    ['%2B', '+'],
    ['%3A%26%25', ':&%'],
    ['%e2%82%ac', '€'],
    ['', ''],
  ])('RFC 6749 Appendix B / WHATWG urlencoded: %j → %j', (input, expected) => {
    expect(decodeFormComponent(input)).toBe(expected);
  });

  test.each(['%', '%4', '%G1', '%C3', '%80'])(
    'RFC 6749 Appendix B: malformed %j → 400 invalid_request',
    (input) => {
      expectInvalidRequest(
        () => decodeFormComponent(input),
        'The client credentials are not correctly form-urlencoded',
      );
    },
  );
});

describe('readClientCredentials', () => {
  test('RFC 6749 §2.3.1: HTTP Basic only', () => {
    expect(
      readClientCredentials(
        request({ grant_type: 'client_credentials' }, { authorization: basic('id:secret') }),
        true,
      ),
    ).toEqual({ method: 'basic', clientId: 'id', clientSecret: 'secret' });
  });

  test('RFC 6749 §2.3.1: Basic works even when body credentials are disallowed', () => {
    expect(
      readClientCredentials(request({}, { authorization: basic('id:secret') }), false),
    ).toEqual({ method: 'basic', clientId: 'id', clientSecret: 'secret' });
  });

  test('RFC 6749 §2.3.1: client_id and client_secret in the body', () => {
    expect(
      readClientCredentials(
        request({ grant_type: 'client_credentials', client_id: 'id', client_secret: 's' }),
        true,
      ),
    ).toEqual({ method: 'body', clientId: 'id', clientSecret: 's' });
  });

  test('RFC 6749 §2.1 / §3.2.1: client_id alone identifies a public client', () => {
    const credentials = readClientCredentials(request({ client_id: 'pub' }), true);
    expect(credentials).toEqual({ method: 'body', clientId: 'pub' });
    expect(Object.keys(credentials as object)).toEqual(['method', 'clientId']);
  });

  test('RFC 6749 §2.1: client_id alone is read even when body secrets are disallowed', () => {
    expect(readClientCredentials(request({ client_id: 'pub' }), false)).toEqual({
      method: 'body',
      clientId: 'pub',
    });
  });

  test('RFC 6749 §2.3: Basic plus a body client_secret is more than one method → 400', () => {
    expectInvalidRequest(
      () =>
        readClientCredentials(
          request(
            { client_id: 'id', client_secret: 'secret' },
            { authorization: basic('id:secret') },
          ),
          true,
        ),
      'Client credentials were sent by more than one method',
    );
    expectInvalidRequest(() =>
      readClientCredentials(
        request({ client_secret: 'secret' }, { authorization: basic('id:secret') }),
        true,
      ),
    );
  });

  test('RFC 6749 §2.3: Basic plus an equal body client_id is one method', () => {
    expect(
      readClientCredentials(
        request({ client_id: 'an:identifier' }, { authorization: basic('an%3Aidentifier:s') }),
        true,
      ),
    ).toEqual({ method: 'basic', clientId: 'an:identifier', clientSecret: 's' });
  });

  test('RFC 6749 §2.3: Basic plus a different body client_id → 400', () => {
    expectInvalidRequest(
      () =>
        readClientCredentials(
          request({ client_id: 'other' }, { authorization: basic('id:secret') }),
          true,
        ),
      'The client_id parameter does not match the Basic credentials',
    );
    // Client ids are compared exactly (RFC 6749 §2.2 gives no case folding).
    expectInvalidRequest(() =>
      readClientCredentials(
        request({ client_id: 'ID' }, { authorization: basic('id:secret') }),
        true,
      ),
    );
  });

  test('RFC 6749 §2.3.1: a non-Basic Authorization scheme is unsupported-scheme', () => {
    expect(readClientCredentials(request({}, { authorization: 'Bearer abc' }), true)).toBe(
      'unsupported-scheme',
    );
    // Body credentials do not rescue it: the header decides.
    expect(
      readClientCredentials(
        request({ client_id: 'id', client_secret: 's' }, { authorization: 'Digest x' }),
        true,
      ),
    ).toBe('unsupported-scheme');
  });

  test('RFC 6749 §2.3: no credentials at all is none', () => {
    expect(readClientCredentials(request({ grant_type: 'client_credentials' }), true)).toBe('none');
    expect(readClientCredentials(request(undefined), true)).toBe('none');
    expect(readClientCredentials(request(null), true)).toBe('none');
  });

  test('RFC 6749 §2.3.1: a body secret while body credentials are disallowed is body-disallowed', () => {
    expect(readClientCredentials(request({ client_id: 'id', client_secret: 's' }), false)).toBe(
      'body-disallowed',
    );
  });

  test('RFC 6749 §2.3.1: a body secret without a client_id is none', () => {
    expect(readClientCredentials(request({ client_secret: 's' }), true)).toBe('none');
  });

  test.each([
    ['client_id', { client_id: ['a', 'b'], client_secret: 's' }],
    ['client_secret', { client_id: 'a', client_secret: ['s', 't'] }],
    ['client_id', { client_id: { x: 'a' } }],
  ])('RFC 6749 §3.2: repeated or bracketed %s → 400', (name, body) => {
    expectInvalidRequest(
      () => readClientCredentials(request(body), true),
      `The ${name} parameter is repeated or malformed`,
    );
  });

  test('RFC 6749 §3.2: a repeated client_secret is refused next to Basic too', () => {
    expectInvalidRequest(() =>
      readClientCredentials(
        request({ client_secret: ['a', 'b'] }, { authorization: basic('id:s') }),
        true,
      ),
    );
  });

  test('RFC 6749 §3.2: parameters sent without a value are treated as omitted', () => {
    expect(readClientCredentials(request({ client_id: '', client_secret: '' }), true)).toBe('none');
    expect(readClientCredentials(request({ client_id: 'id', client_secret: '' }), true)).toEqual({
      method: 'body',
      clientId: 'id',
    });
    expect(
      readClientCredentials(
        request({ client_id: '', client_secret: '' }, { authorization: basic('id:s') }),
        true,
      ),
    ).toEqual({ method: 'basic', clientId: 'id', clientSecret: 's' });
  });

  test.each([
    ['application/json', { client_id: 'id', client_secret: 's' }],
    ['multipart/form-data; boundary=x', { client_id: 'id' }],
    ['application/x-www-form-urlencodedx', { client_id: 'id' }],
    [undefined, { client_id: 'id' }],
  ])('RFC 6749 §3.2: content type %s → 400', (contentType, body) => {
    expectInvalidRequest(
      () =>
        readClientCredentials(
          { method: 'POST', headers: { 'content-type': contentType }, body },
          true,
        ),
      'The request body must be application/x-www-form-urlencoded',
    );
  });

  test('RFC 6749 §3.2: a form content type with parameters and any case is accepted', () => {
    expect(
      readClientCredentials(
        {
          method: 'POST',
          headers: { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' },
          body: { client_id: 'id', client_secret: 's' },
        },
        true,
      ),
    ).toEqual({ method: 'body', clientId: 'id', clientSecret: 's' });
  });

  test('RFC 6749 §3.2: a body that is not an object → 400', () => {
    expectInvalidRequest(
      () => readClientCredentials(request('client_id=id'), true),
      'The request body could not be read as a form',
    );
    expectInvalidRequest(() => readClientCredentials(request(['client_id']), true));
  });

  test('RFC 6749 §2.3.1 / RFC 6819 §5.4.1: credentials in the query string are never read', () => {
    const req = request(
      {},
      {},
      {
        query: { client_id: 'id', client_secret: 's' },
        url: '/token?client_id=id&client_secret=s',
      },
    );
    expect(readClientCredentials(req, true)).toBe('none');
  });

  test('RFC 6749 §2.3: inherited properties are not parameters', () => {
    const body = Object.create({ client_id: 'proto', client_secret: 's' }) as object;
    expect(readClientCredentials(request(body), true)).toBe('none');
  });

  test('RFC 7617: a malformed Basic header is 400 even with valid body credentials', () => {
    expectInvalidRequest(() =>
      readClientCredentials(
        request({ client_id: 'id', client_secret: 's' }, { authorization: 'Basic !!!' }),
        true,
      ),
    );
  });
});
