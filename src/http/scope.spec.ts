import { describe, expect, test } from '@jest/globals';
import { grantScopes, parseScope, parseStoredList, SCOPE_PATTERN } from './scope.js';

/** Every character RFC 6749 §3.3 allows in a scope-token: %x21 / %x23-5B / %x5D-7E. */
const SCOPE_CHARS = Array.from({ length: 0x7f - 0x21 }, (_, i) => String.fromCharCode(0x21 + i))
  .filter((c) => c !== '"' && c !== '\\')
  .join('');

describe('SCOPE_PATTERN', () => {
  test.each([
    'read',
    'a',
    'reports:read reports:write',
    'a b c',
    'https://api.example.com/read',
    "!#$%&'()*+,-./:;<=>?@[]^_`{|}~",
    SCOPE_CHARS,
  ])('RFC 6749 §3.3: %j matches scope-token *( SP scope-token )', (scope) => {
    expect(SCOPE_PATTERN.test(scope)).toBe(true);
  });

  test('RFC 6749 §3.3: every allowed character is accepted, alone', () => {
    for (const c of SCOPE_CHARS) expect([c, SCOPE_PATTERN.test(c)]).toEqual([c, true]);
    expect(SCOPE_CHARS.length).toBe(92);
  });

  test.each([
    ['empty', ''],
    ['a double quote', 'a"b'],
    ['a backslash', 'a\\b'],
    ['a leading space', ' read'],
    ['a trailing space', 'read '],
    ['two spaces', 'read  write'],
    ['a lone space', ' '],
    ['a tab', 'read\twrite'],
    ['a newline', 'read\nwrite'],
    ['a trailing newline', 'read\n'],
    ['a control character', 'read\x00'],
    ['DEL', 'read\x7f'],
    ['a non-ASCII letter', 'lecture:écrire'],
    ['a non-breaking space', 'read\u00a0write'],
  ])('RFC 6749 §3.3: refuses %s', (_name, scope) => {
    expect(SCOPE_PATTERN.test(scope)).toBe(false);
  });
});

describe('parseScope', () => {
  test('RFC 6749 §3.3: splits at single spaces, keeps order', () => {
    expect(parseScope('b a c')).toEqual(['b', 'a', 'c']);
  });

  test('RFC 6749 §3.3: duplicates collapse to their first place', () => {
    expect(parseScope('a b a c b')).toEqual(['a', 'b', 'c']);
  });

  test('RFC 6749 §3.3: tokens are case-sensitive, so case variants are distinct', () => {
    expect(parseScope('Read read READ')).toEqual(['Read', 'read', 'READ']);
  });

  test.each([undefined, null, ''])('no scope (%j) is an empty list', (scope) => {
    expect(parseScope(scope)).toEqual([]);
  });
});

describe('parseStoredList', () => {
  test('RFC 6749 §3.3: space-separated list', () => {
    expect(parseStoredList('a b c')).toEqual(['a', 'b', 'c']);
  });

  test('tolerates leading, trailing and repeated white space of any kind in storage', () => {
    expect(parseStoredList('  a \t b\r\n  c  ')).toEqual(['a', 'b', 'c']);
  });

  test('duplicates collapse, order kept', () => {
    expect(parseStoredList('client_credentials password client_credentials')).toEqual([
      'client_credentials',
      'password',
    ]);
  });

  test.each([undefined, null, '', '   ', '\t\n'])('%j is an empty list', (value) => {
    expect(parseStoredList(value)).toEqual([]);
  });
});

describe('grantScopes', () => {
  test('RFC 6749 §3.3: a subset of the client scope is granted as requested', () => {
    expect(grantScopes('read', 'read write admin')).toEqual(['read']);
    expect(grantScopes('read write', 'read write admin')).toEqual(['read', 'write']);
  });

  test('RFC 6749 §3.3: order carries no meaning, the requested order is kept', () => {
    expect(grantScopes('admin read', 'read write admin')).toEqual(['admin', 'read']);
  });

  test('RFC 6749 §3.3: duplicates in the request collapse', () => {
    expect(grantScopes('read read', 'read')).toEqual(['read']);
  });

  test('RFC 6749 §3.3: comparison is case-sensitive', () => {
    expect(grantScopes('Read', 'read write')).toBeUndefined();
    expect(grantScopes('read', 'READ')).toBeUndefined();
  });

  test('RFC 6749 §3.3: no scope requested → the client’s whole registered scope', () => {
    expect(grantScopes(undefined, 'read write')).toEqual(['read', 'write']);
    expect(grantScopes(undefined, ' read  write read ')).toEqual(['read', 'write']);
  });

  test('RFC 6749 §3.3: a client with a null scope is granted none', () => {
    expect(grantScopes(undefined, null)).toEqual([]);
    expect(grantScopes('read', null)).toBeUndefined();
  });

  test('RFC 6749 §3.3 / §5.2 invalid_scope: asking for more than the client may have → undefined', () => {
    expect(grantScopes('read delete', 'read write')).toBeUndefined();
    expect(grantScopes('delete', 'read write')).toBeUndefined();
    expect(grantScopes('rea', 'read')).toBeUndefined();
    expect(grantScopes('read write', 'read')).toBeUndefined();
  });

  test('a tolerant stored list still grants its tokens', () => {
    expect(grantScopes('write', '\tread\n write ')).toEqual(['write']);
  });
});
