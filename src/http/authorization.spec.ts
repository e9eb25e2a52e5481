import { describe, expect, test } from '@jest/globals';
import {
  basicAuthorization,
  decodeFormComponent,
  parseAuthorization,
  basicCredentialsOf,
  parseBasicCredentials,
  parseBearerCredentials,
} from './authorization.js';
import { MalformedRequestError } from './http-request.js';
import { thrownBy } from '../../test/support/thrown.js';

const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64');
const basic = (userPass: string): string => `Basic ${b64(userPass)}`;

/** The whole Basic reading of a header, as the client_secret_basic strategy does it. */
function parseBasicHeader(header: string): { clientId: string; clientSecret: string } | undefined {
  const authorization = parseAuthorization(header);
  if (authorization?.scheme !== 'basic') return undefined;
  return parseBasicCredentials(authorization.credentials);
}

/** The call throws a MalformedRequestError (a 400), with this fixed message when given. */
function expectMalformed(fn: () => unknown, message?: string): void {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(MalformedRequestError);
  const malformed = error as MalformedRequestError;
  expect(malformed.name).toBe('MalformedRequestError');
  expect(malformed.status).toBe(400);
  if (message !== undefined) expect(malformed.message).toBe(message);
}

describe('parseAuthorization (RFC 9110 §11.4, §11.6.2)', () => {
  test('no header → undefined', () => {
    expect(parseAuthorization(undefined)).toBeUndefined();
  });

  test('splits the scheme (lower case) from the credentials', () => {
    expect(parseAuthorization('Basic YWI6Y2Q=')).toEqual({
      scheme: 'basic',
      credentials: 'YWI6Y2Q=',
    });
    expect(parseAuthorization('Bearer abc.def.ghi')).toEqual({
      scheme: 'bearer',
      credentials: 'abc.def.ghi',
    });
  });

  test.each(['basic', 'BASIC', 'bAsIc'])(
    'RFC 9110 §11.1: the scheme name is case-insensitive (%s)',
    (scheme) => {
      expect(parseBasicHeader(`${scheme} ${b64('id:secret')}`)).toEqual({
        clientId: 'id',
        clientSecret: 'secret',
      });
    },
  );

  test.each([
    ['Bearer abc.def.ghi', 'bearer', 'abc.def.ghi'],
    ['Digest username="a", realm="b"', 'digest', 'username="a", realm="b"'],
    ['Negotiate', 'negotiate', ''],
    ['Basically x', 'basically', 'x'],
  ])(
    'RFC 9110 §11.4: another scheme is read as such, not as Basic (%s)',
    (header, scheme, credentials) => {
      expect(parseAuthorization(header)).toEqual({ scheme, credentials });
      expect(parseBasicHeader(header)).toBeUndefined();
    },
  );

  test.each([
    ['one space', 'Basic abc', 'abc'],
    ['two spaces', 'Basic  abc', 'abc'],
    ['five spaces', 'Basic     abc', 'abc'],
  ])('RFC 9110 §11.4: 1*SP separates scheme and credentials (%s)', (_name, header, credentials) => {
    expect(parseAuthorization(header)).toEqual({ scheme: 'basic', credentials });
  });

  test('RFC 9110 §11.4 1*SP: Basic credentials after several spaces decode', () => {
    expect(parseBasicHeader(`Basic  ${b64('a:b')}`)).toEqual({ clientId: 'a', clientSecret: 'b' });
    expect(parseBasicHeader(`Basic   ${b64('a:b')}`)).toEqual({ clientId: 'a', clientSecret: 'b' });
  });

  test('RFC 9110 §11.4: a scheme alone, or followed by spaces only, has empty credentials', () => {
    expect(parseAuthorization('Basic')).toEqual({ scheme: 'basic', credentials: '' });
    expect(parseAuthorization('Basic ')).toEqual({ scheme: 'basic', credentials: '' });
    expect(parseAuthorization('Basic   ')).toEqual({ scheme: 'basic', credentials: '' });
  });

  test.each([
    ['empty', ''],
    ['a leading space', ` ${basic('a:b')}`],
    ['a tab after the scheme (SP only)', `Basic\t${b64('a:b')}`],
    ['a colon after the scheme', `Basic: ${b64('a:b')}`],
    ['a non-token scheme', 'Ba(sic abc'],
    ['a non-ASCII scheme', 'Bäsic abc'],
  ])(
    'RFC 9110 §11.4: a header that is not `scheme [1*SP credentials]` is malformed (%s)',
    (_name, header) => {
      expectMalformed(() => parseAuthorization(header), 'The Authorization header is malformed');
    },
  );
});

describe('parseBasicCredentials', () => {
  test('RFC 7617 §2: decodes id and secret', () => {
    expect(parseBasicHeader(basic('testclient:testpass'))).toEqual({
      clientId: 'testclient',
      clientSecret: 'testpass',
    });
  });

  test.each([
    ['missing padding', 'Basic YWI6Y2Q'],
    ['bad characters', 'Basic YWI6Y2Q-'],
    ['base64url alphabet', 'Basic YWI_Y2Q='],
    ['trailing garbage', `Basic ${b64('ab:cd')}xx`],
    ['padding in the middle', 'Basic YQ==YWI6Y2Q='],
    ['embedded space', 'Basic YWI6 Y2Q='],
    ['a trailing space', `Basic ${b64('ab:cd')} `],
    ['trailing newline', `Basic ${b64('ab:cd')}\n`],
    ['no credentials at all', 'Basic'],
    ['empty credentials', 'Basic '],
  ])('RFC 4648 §3.3 / RFC 7617 §2: strict base64, %s → 400', (_name, header) => {
    expectMalformed(() => parseBasicHeader(header), 'The Basic credentials are not valid base64');
  });

  test.each([
    ['one pad character, non-zero unused bits', 'YWI6Y2R='],
    ['two pad characters, non-zero unused bits', 'YWI6Yx=='],
  ])('RFC 4648 §3.5: non-canonical base64 (%s) → 400', (_name, credentials) => {
    expectMalformed(
      () => parseBasicCredentials(credentials),
      'The Basic credentials are not valid base64',
    );
  });

  test('RFC 4648 §3.5: canonical padding accepted', () => {
    // 'ab:c' → YWI6Yw== and 'ab:cd' → YWI6Y2Q=: the canonical encodings have zero pad bits.
    expect(parseBasicCredentials('YWI6Yw==')).toEqual({ clientId: 'ab', clientSecret: 'c' });
    expect(parseBasicCredentials('YWI6Y2Q=')).toEqual({ clientId: 'ab', clientSecret: 'cd' });
  });

  test.each([
    ['no colon', 'testclient'],
    ['empty client id', ':secret'],
    ['only a colon', ':'],
  ])('RFC 7617 §2: user-pass = user-id ":" password, %s → 400', (_name, userPass) => {
    expectMalformed(
      () => parseBasicHeader(basic(userPass)),
      'The Basic credentials lack a client id',
    );
  });

  test('RFC 7617 §2: splits at the FIRST colon, a secret holding ":" is kept whole', () => {
    expect(parseBasicHeader(basic('client:se:cr:et'))).toEqual({
      clientId: 'client',
      clientSecret: 'se:cr:et',
    });
    expect(parseBasicHeader(basic('client::secret:'))).toEqual({
      clientId: 'client',
      clientSecret: ':secret:',
    });
  });

  test('RFC 7617 §2: an empty password is passed through as an empty secret', () => {
    expect(parseBasicHeader(basic('client:'))).toEqual({ clientId: 'client', clientSecret: '' });
  });

  test('RFC 6749 Appendix B: id and secret are form-urlencoded (the RFC example)', () => {
    expect(parseBasicHeader(basic('an%3Aidentifier:some+secure+%26+non-standard+secret'))).toEqual({
      clientId: 'an:identifier',
      clientSecret: 'some secure & non-standard secret',
    });
  });

  test('RFC 6749 Appendix B: %XX octets are UTF-8, %2B is a literal plus', () => {
    expect(parseBasicHeader(basic('caf%C3%A9:a%2Bb+c'))).toEqual({
      clientId: 'café',
      clientSecret: 'a+b c',
    });
  });

  test('RFC 6749 Appendix B: an encoded colon in the id does not split; the first raw colon does', () => {
    expect(parseBasicHeader(basic('a%3Ab:c%3Ad'))).toEqual({
      clientId: 'a:b',
      clientSecret: 'c:d',
    });
  });

  test.each([
    ['lone percent in the id', '50%:secret'],
    ['truncated escape in the secret', 'client:abc%4'],
    ['non-hex escape', 'client:%zz'],
    ['escape of an invalid UTF-8 octet', 'client:%FF'],
  ])('RFC 6749 Appendix B: malformed percent-encoding, %s → 400', (_name, userPass) => {
    expectMalformed(
      () => parseBasicHeader(basic(userPass)),
      'The client credentials are not correctly form-urlencoded',
    );
  });

  test('RFC 7617 §2.1: credentials that are not valid UTF-8 → 400', () => {
    expectMalformed(
      () => parseBasicCredentials(b64(Buffer.from([0xff, 0x3a, 0x61]))),
      'The Basic credentials are not valid UTF-8',
    );
    expectMalformed(
      () => parseBasicCredentials(b64(Buffer.from([0x61, 0x3a, 0xc3, 0x28]))),
      'The Basic credentials are not valid UTF-8',
    );
  });

  test('RFC 7617 §2.1: raw UTF-8 credentials decode', () => {
    expect(parseBasicHeader(basic('clïent:sécret'))).toEqual({
      clientId: 'clïent',
      clientSecret: 'sécret',
    });
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
    'RFC 6749 Appendix B: malformed %j → 400',
    (input) => {
      expectMalformed(
        () => decodeFormComponent(input),
        'The client credentials are not correctly form-urlencoded',
      );
    },
  );
});

describe('basicAuthorization (RFC 6749 §2.3.1)', () => {
  test.each([
    ['plain', 'secret', 'cGxhaW46c2VjcmV0'],
    ['a:b c', 'p+q&r%€', b64('a%3Ab+c:p%2Bq%26r%25%E2%82%AC')],
  ])('%j / %j: each half form-urlencoded, then base64', (id, secret, credentials) => {
    expect(basicAuthorization(id, secret)).toBe(`Basic ${credentials}`);
  });

  test.each([
    ['a:b c', 'p+q:r%€'],
    ['clïent', ''],
  ])('%j / %j round-trips through the parser', (clientId, clientSecret) => {
    expect(parseBasicHeader(basicAuthorization(clientId, clientSecret))).toEqual({
      clientId,
      clientSecret,
    });
  });
});

describe('parseBearerCredentials (RFC 6750 §2.1 b64token)', () => {
  test.each([
    'abc',
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl',
    'A-Z_a.z~0+9/',
    'abc=',
    'abc==',
    '0',
  ])('%s is a b64token, returned as is', (token) => {
    expect(parseBearerCredentials(token)).toBe(token);
  });

  test.each([
    ['empty', ''],
    ['only padding', '=='],
    ['padding in the middle', 'ab=c'],
    ['a space inside', 'abc def'],
    ['a trailing space', 'abc '],
    ['a comma', 'abc,def'],
    ['a quote', '"abc"'],
    ['a non-ASCII character', 'abcé'],
    ['a newline', 'abc\n'],
  ])('%s is malformed → 400', (_name, credentials) => {
    expectMalformed(
      () => parseBearerCredentials(credentials),
      'The Bearer credentials are malformed',
    );
  });

  test('RFC 6750 §2.1 with RFC 9110 1*SP: `Bearer  <token>` yields the token', () => {
    const authorization = parseAuthorization('Bearer  abc.def');
    expect(authorization).toEqual({ scheme: 'bearer', credentials: 'abc.def' });
    expect(parseBearerCredentials(authorization!.credentials)).toBe('abc.def');
  });
});

describe('basicCredentialsOf', () => {
  const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

  test('reads the credentials once per request, and again when the header changes', () => {
    const request = { headers: { authorization: basic('svc:s3cret') } };
    const first = basicCredentialsOf(request);
    expect(first).toEqual({ clientId: 'svc', clientSecret: 's3cret' });
    expect(basicCredentialsOf(request)).toBe(first);
    request.headers.authorization = basic('other:pass');
    expect(basicCredentialsOf(request)).toEqual({ clientId: 'other', clientSecret: 'pass' });
    expect(basicCredentialsOf({ headers: { authorization: basic('svc:s3cret') } })).not.toBe(first);
  });

  test('no header or another scheme: undefined; malformed: refused every time it is asked', () => {
    expect(basicCredentialsOf({ headers: {} })).toBeUndefined();
    expect(basicCredentialsOf({ headers: { authorization: 'Bearer abc' } })).toBeUndefined();
    const malformed = { headers: { authorization: 'Basic !!!' } };
    for (let i = 0; i < 2; i++) {
      expect(() => basicCredentialsOf(malformed)).toThrow(
        'The Basic credentials are not valid base64',
      );
    }
  });
});
