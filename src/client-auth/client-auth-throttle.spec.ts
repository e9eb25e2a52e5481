import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { useFakeClock } from '../../test/support/fake-clock.js';
import { rejectionOf } from '../../test/support/thrown.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2Config } from '../oauth2-config.js';
import type { OAuth2ClientAuthThrottleOptions } from '../oauth2-options.interface.js';
import { ClientAuthThrottle } from './client-auth-throttle.js';
import { InMemoryOAuth2ThrottleStore, OAuth2ThrottleStore } from './throttle.store.js';

const SETTINGS: OAuth2ClientAuthThrottleOptions = {
  window: 60,
  freeFailures: 2,
  maxFailures: 6,
  maxDelayMs: 1000,
  maxFailuresPerClient: 10,
};

function throttle(
  settings: OAuth2ClientAuthThrottleOptions | false = SETTINGS,
  store?: OAuth2ThrottleStore,
) {
  const config = new OAuth2Config({
    issuer: 'https://auth.example.com',
    signing: { algorithm: 'HS256', secret: 'x'.repeat(32) },
    clientAuthThrottle: settings,
  });
  const used = store ?? new InMemoryOAuth2ThrottleStore();
  return { throttle: new ClientAuthThrottle(used, config), store: used };
}

async function failTimes(t: ClientAuthThrottle, clientId: string, address: string, times: number) {
  for (let i = 0; i < times; i++) await t.failed(clientId, address);
}

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('ClientAuthThrottle', () => {
  test('free failures pass at once; then the delay starts at 250 ms and doubles, up to maxDelayMs', async () => {
    const { throttle: t } = throttle();
    const delays: number[] = [];
    for (let failures = 0; failures < 6; failures++) {
      delays.push((await t.admit('svc', '10.0.0.1')).delayMs);
      await t.failed('svc', '10.0.0.1');
    }
    expect(delays).toEqual([0, 0, 250, 500, 1000, 1000]);
  });

  test('at maxFailures the pair gets 429 invalid_client with Retry-After until its window ends', async () => {
    useFakeClock();
    const { throttle: t } = throttle();
    await failTimes(t, 'svc', '10.0.0.1', 6);
    jest.advanceTimersByTime(20_000);
    const error = await rejectionOf(t.admit('svc', '10.0.0.1'));
    expect(error).toBeInstanceOf(OAuth2Error);
    expect([(error as OAuth2Error).error, (error as OAuth2Error).getStatus()]).toEqual([
      'invalid_client',
      429,
    ]);
    expect((error as OAuth2Error).extras.retryAfter).toBe(40);
    jest.advanceTimersByTime(40_001);
    expect(await t.admit('svc', '10.0.0.1')).toEqual({ delayMs: 0, failedBefore: false });
  });

  test('another address is never held back by this one’s failures, nor is another client id', async () => {
    const { throttle: t } = throttle();
    await failTimes(t, 'svc', '10.0.0.1', 6);
    await expect(t.admit('svc', '10.0.0.1')).rejects.toBeInstanceOf(OAuth2Error);
    expect(await t.admit('svc', '10.0.0.2')).toEqual({ delayMs: 0, failedBefore: false });
    expect(await t.admit('other', '10.0.0.1')).toEqual({ delayMs: 0, failedBefore: false });
  });

  test('a distributed attack: past maxFailuresPerClient, addresses that failed get 429, a clean one does not', async () => {
    const { throttle: t } = throttle();
    for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']) {
      await failTimes(t, 'svc', address, 2);
    }
    const error = await rejectionOf(t.admit('svc', '10.0.0.3'));
    expect((error as OAuth2Error).getStatus()).toBe(429);
    expect(await t.admit('svc', '10.0.0.9')).toEqual({ delayMs: 0, failedBefore: false });
  });

  test('a success clears the pair’s failures, and writes nothing when there were none', async () => {
    const { throttle: t, store } = throttle();
    const reset = jest.spyOn(store, 'reset');
    await t.succeeded('svc', '10.0.0.1', await t.admit('svc', '10.0.0.1'));
    expect(reset).not.toHaveBeenCalled();
    await failTimes(t, 'svc', '10.0.0.1', 4);
    const verdict = await t.admit('svc', '10.0.0.1');
    expect(verdict).toEqual({ delayMs: 1000, failedBefore: true });
    await t.succeeded('svc', '10.0.0.1', verdict);
    expect(reset).toHaveBeenCalledTimes(1);
    expect(await t.admit('svc', '10.0.0.1')).toEqual({ delayMs: 0, failedBefore: false });
  });

  test('an address without failures costs one store read; one with failures, two (its own, the client id’s)', async () => {
    const { throttle: t, store } = throttle();
    const get = jest.spyOn(store, 'get');
    await t.admit('svc', '10.0.0.1');
    expect(get).toHaveBeenCalledTimes(1);
    await t.failed('svc', '10.0.0.1');
    get.mockClear();
    await t.admit('svc', '10.0.0.1');
    expect(get).toHaveBeenCalledTimes(2);
  });

  test('turned off, it counts and refuses nothing', async () => {
    const { throttle: t, store } = throttle(false);
    const increment = jest.spyOn(store, 'increment');
    await failTimes(t, 'svc', '10.0.0.1', 50);
    expect(increment).not.toHaveBeenCalled();
    expect(await t.admit('svc', '10.0.0.1')).toEqual({ delayMs: 0, failedBefore: false });
  });

  test('a store that fails lets requests through (logged), never a 500', async () => {
    class BrokenStore extends OAuth2ThrottleStore {
      increment = () => Promise.reject(new Error('ECONNREFUSED'));
      get = () => Promise.reject(new Error('ECONNREFUSED'));
      reset = () => Promise.reject(new Error('ECONNREFUSED'));
    }
    const { throttle: t } = throttle(SETTINGS, new BrokenStore());
    await expect(t.failed('svc', '10.0.0.1')).resolves.toBeUndefined();
    expect(await t.admit('svc', '10.0.0.1')).toEqual({ delayMs: 0, failedBefore: false });
  });

  test('store keys are fixed-length digests: no client id or address in them', async () => {
    const { throttle: t, store } = throttle();
    const increment = jest.spyOn(store, 'increment');
    await t.failed('x'.repeat(5000), '10.0.0.1');
    const keys = increment.mock.calls.map(([key]) => key);
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(key).toMatch(/^oauth2:fail:(pair|client):[A-Za-z0-9_-]{43}$/);
    }
  });
});

describe('InMemoryOAuth2ThrottleStore', () => {
  test('a window starts at the first failure and ends windowMs later; reset forgets', async () => {
    useFakeClock();
    const store = new InMemoryOAuth2ThrottleStore();
    const first = await store.increment('k', 1000);
    expect(first.count).toBe(1);
    jest.advanceTimersByTime(600);
    expect(await store.increment('k', 1000)).toEqual({ count: 2, resetAt: first.resetAt });
    jest.advanceTimersByTime(401);
    expect(await store.get('k')).toBeUndefined();
    expect((await store.increment('k', 1000)).count).toBe(1);
    await store.reset('k');
    expect(await store.get('k')).toBeUndefined();
  });

  test('bounded: the least recently counted key goes first', async () => {
    const store = new InMemoryOAuth2ThrottleStore({ max: 2 });
    await store.increment('a', 60_000);
    await store.increment('b', 60_000);
    await store.increment('c', 60_000);
    expect(await store.get('a')).toBeUndefined();
    expect((await store.get('c'))?.count).toBe(1);
  });
});
