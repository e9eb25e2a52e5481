import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { InMemoryOAuth2ReplayStore } from './in-memory-replay.store.js';
import { useFakeClock } from '../../test/support/fake-clock.js';

beforeEach(() => useFakeClock());
afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});
const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000);
const advance = (ms: number) => jest.advanceTimersByTime(ms);

describe('InMemoryOAuth2ReplayStore', () => {
  test('a key is claimed once while it has not expired', async () => {
    const store = new InMemoryOAuth2ReplayStore();
    expect(await store.claim('a', inSeconds(60))).toBe(true);
    expect(await store.claim('a', inSeconds(60))).toBe(false);
    advance(59_999);
    expect(await store.claim('a', inSeconds(60))).toBe(false);
    expect(await store.claim('b', inSeconds(60))).toBe(true);
  });

  test('a claim asked to hold until a moment already past is refused, never recorded as granted', async () => {
    const store = new InMemoryOAuth2ReplayStore();
    expect(await store.claim('late', inSeconds(-1))).toBe(false);
    expect(await store.claim('late', new Date(Date.now()))).toBe(false);
  });

  test('concurrent claims of one key: exactly one wins', async () => {
    const store = new InMemoryOAuth2ReplayStore();
    const results = await Promise.all([1, 2, 3, 4].map(() => store.claim('k', inSeconds(60))));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test('once expired, a key can be claimed again', async () => {
    const store = new InMemoryOAuth2ReplayStore();
    await store.claim('a', inSeconds(30));
    advance(30_000);
    expect(await store.claim('a', inSeconds(30))).toBe(true);
  });

  test('expired claims are swept, at most once a minute', async () => {
    const store = new InMemoryOAuth2ReplayStore();
    await store.claim('short', inSeconds(10));
    await store.claim('long', inSeconds(600));
    advance(30_000);
    await store.claim('x', inSeconds(600));
    // The last sweep ran at the first claim: 'short' waits for the next one.
    expect(store.size).toBe(3);
    advance(30_000);
    await store.claim('y', inSeconds(600));
    expect(store.size).toBe(3);
    expect(await store.claim('long', inSeconds(600))).toBe(false);
  });
});
