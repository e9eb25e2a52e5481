import { describe, expect, test } from '@jest/globals';
import { accessTokenCacheSize, VerifiedTokenCache } from './verified-token.cache.js';

const NOW = 1_700_000_000_000;
const key = {};
const entry = (value: string, expiresAt = NOW + 60_000) => ({
  value,
  verifiedWith: key,
  expiresAt,
});

describe('VerifiedTokenCache', () => {
  test('holds an entry until its expiresAt, then drops it', () => {
    const cache = new VerifiedTokenCache<string>(10);
    cache.set('t', entry('a'), NOW);
    expect(cache.get('t', NOW + 59_999)?.value).toBe('a');
    expect(cache.get('t', NOW + 60_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('matches the exact token only', () => {
    const cache = new VerifiedTokenCache<string>(10);
    cache.set('a.b.c', entry('a'), NOW);
    for (const other of ['a.b.c ', 'a.b.C', 'a.b', 'A.b.c']) {
      expect(cache.get(other, NOW)).toBeUndefined();
    }
  });

  test('never holds more than maxEntries: the oldest makes room, a hit does not reorder', () => {
    const cache = new VerifiedTokenCache<string>(3);
    for (const token of ['1', '2', '3']) cache.set(token, entry(token), NOW);
    cache.get('1', NOW);
    cache.set('4', entry('4'), NOW);
    expect(cache.size).toBe(3);
    expect(cache.get('1', NOW)).toBeUndefined();
    expect(['2', '3', '4'].map((token) => cache.get(token, NOW)?.value)).toEqual(['2', '3', '4']);
    // Setting a held token again replaces it without evicting another.
    cache.set('4', entry('4 again'), NOW);
    expect(cache.size).toBe(3);
    expect(cache.get('2', NOW)?.value).toBe('2');
  });

  test('a million distinct tokens leave it at its bound', () => {
    const cache = new VerifiedTokenCache<string>(1000);
    for (let i = 0; i < 1_000_000; i++) cache.set(`token-${i}`, entry('x'), NOW);
    expect(cache.size).toBe(1000);
  });

  test('off at 0; an entry already expired is not held', () => {
    const off = new VerifiedTokenCache<string>(0);
    off.set('t', entry('a'), NOW);
    expect(off.size).toBe(0);
    const on = new VerifiedTokenCache<string>(10);
    on.set('t', entry('a', NOW), NOW);
    expect(on.size).toBe(0);
  });

  test('delete and clear', () => {
    const cache = new VerifiedTokenCache<string>(10);
    cache.set('a', entry('a'), NOW);
    cache.set('b', entry('b'), NOW);
    cache.delete('a');
    expect(cache.get('a', NOW)).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
  });
});

describe('VerifiedTokenCache.admits (admission on the second verification)', () => {
  test('a token is admitted the second time it is offered, not the first', () => {
    const cache = new VerifiedTokenCache<string>(10);
    expect(cache.admits('a.b.signature-one')).toBe(false);
    expect(cache.admits('a.b.signature-two')).toBe(false);
    expect(cache.admits('a.b.signature-one')).toBe(true);
    // Admitted once: the filter forgets it, so a token evicted later starts over.
    expect(cache.admits('a.b.signature-one')).toBe(false);
  });

  test('bounded: the filter starts over when it holds maxEntries tails; off admits nothing', () => {
    const cache = new VerifiedTokenCache<string>(2);
    for (const token of ['x.y.first-token', 'x.y.second-token', 'x.y.third-token']) {
      expect(cache.admits(token)).toBe(false);
    }
    expect(cache.admits('x.y.first-token')).toBe(false);
    const off = new VerifiedTokenCache<string>(0);
    expect([off.admits('t'), off.admits('t')]).toEqual([false, false]);
  });
});

describe('accessTokenCacheSize', () => {
  const configError = (problem: string) => new Error(problem);

  test('1000 by default; 0 and up to a million as given', () => {
    expect(accessTokenCacheSize(undefined, configError)).toBe(1000);
    expect(accessTokenCacheSize({}, configError)).toBe(1000);
    expect(accessTokenCacheSize({ maxEntries: 0 }, configError)).toBe(0);
    expect(accessTokenCacheSize({ maxEntries: 1_000_000 }, configError)).toBe(1_000_000);
  });

  test.each([-1, 0.5, 1_000_001, Number.POSITIVE_INFINITY, '10' as unknown as number])(
    '%p is refused',
    (maxEntries) => {
      expect(() => accessTokenCacheSize({ maxEntries }, configError)).toThrow(
        '`accessTokenCache.maxEntries` must be a whole number from 0 to 1000000',
      );
    },
  );
});
