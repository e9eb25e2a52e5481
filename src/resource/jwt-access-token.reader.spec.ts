import { describe, expect, test } from '@jest/globals';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { protectedHeaderOf } from './jwt-access-token.reader.js';
import { verificationOutcomeOf } from './verification-outcome.js';

const segment = (header: object) => Buffer.from(JSON.stringify(header)).toString('base64url');
const token = (header: object, payload = 'e30', signature = 'c2ln') =>
  `${segment(header)}.${payload}.${signature}`;

/** The outcome `protectedHeaderOf()` refused `value` with, or the header it read. */
function outcomeOf(value: string): string {
  try {
    protectedHeaderOf(value);
    return 'read';
  } catch (error) {
    expect(error).toBeInstanceOf(OAuth2Error);
    return verificationOutcomeOf(error);
  }
}

describe('protectedHeaderOf', () => {
  test('reads the header of a compact JWS, frozen', () => {
    const header = protectedHeaderOf(token({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }));
    expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' });
    expect(Object.isFrozen(header)).toBe(true);
  });

  test('tokens with one header segment share one read, whatever their other segments', () => {
    const header = { alg: 'HS256', typ: 'at+jwt', kid: 'shared' };
    expect(protectedHeaderOf(token(header, 'e30', 'YQ'))).toBe(
      protectedHeaderOf(token(header, 'eyJhIjoxfQ', 'Yg')),
    );
  });

  test('a full map starts again: every header is still read right, a dropped one read anew', () => {
    const first = { alg: 'RS256', kid: 'first' };
    const read = protectedHeaderOf(token(first));
    for (let i = 0; i < 200; i++) {
      expect(protectedHeaderOf(token({ alg: 'RS256', kid: `garbage-${i}` })).kid).toBe(
        `garbage-${i}`,
      );
    }
    const again = protectedHeaderOf(token(first));
    expect(again).toEqual(first);
    expect(again).not.toBe(read);
  });

  test.each([
    ['no dot', segment({ alg: 'HS256' })],
    ['two segments', `${segment({ alg: 'HS256' })}.e30`],
    ['four segments', `${token({ alg: 'HS256' })}.x`],
    ['six segments', `${token({ alg: 'HS256' })}.x.y.z`],
    ['an empty header', '.e30.c2ln'],
    ['a header that is no base64url JSON', 'bm90IGpzb24.e30.c2ln'],
    ['a header that is no object', `${segment([1])}.e30.c2ln`],
    ['a token longer than any issued', token({ alg: 'HS256' }, 'A'.repeat(20_000))],
  ])('%s is refused as malformed', (_name, value) => {
    expect(outcomeOf(value)).toBe('malformed');
  });

  test('a header already read does not make a token of the wrong shape readable', () => {
    const header = { alg: 'HS256', kid: 'seen' };
    expect(outcomeOf(token(header))).toBe('read');
    expect(outcomeOf(`${segment(header)}.e30`)).toBe('malformed');
    expect(outcomeOf(`${token(header)}.x`)).toBe('malformed');
    expect(outcomeOf(`${token(header)}.x.y`)).toBe('read');
  });
});
