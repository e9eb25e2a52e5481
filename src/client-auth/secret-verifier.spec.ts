import { afterEach, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { useFakeClock } from '../../test/support/fake-clock.js';
import { ClientSecretHasher } from '../clients/client-secret.hasher.js';
import { KdfBusyError } from './kdf-limiter.js';
import { SecretVerifier } from './secret-verifier.js';

const options = { cacheTtl: 60, cacheMax: 100, maxConcurrentKdf: 4, maxQueuedKdf: 8 };

describe('SecretVerifier', () => {
  const hasher = new ClientSecretHasher();
  let stored: string;
  beforeAll(async () => {
    stored = await hasher.hash('chosen secret');
  });

  test('a KDF hash is derived once; the success is then remembered', async () => {
    const verifier = new SecretVerifier(hasher, options);
    const verify = jest.spyOn(hasher, 'verify');
    try {
      expect(await verifier.verify('svc', 'chosen secret', stored)).toBe(true);
      expect(await verifier.verify('svc', 'chosen secret', stored)).toBe(true);
      expect(verify).toHaveBeenCalledTimes(1);
    } finally {
      verify.mockRestore();
    }
  });

  test('a failure is never remembered, and another secret or a new stored hash does not hit the cache', async () => {
    const verifier = new SecretVerifier(hasher, options);
    expect(await verifier.verify('svc', 'chosen secret', stored)).toBe(true);
    const verify = jest.spyOn(hasher, 'verify');
    try {
      expect(await verifier.verify('svc', 'wrong', stored)).toBe(false);
      expect(await verifier.verify('svc', 'wrong', stored)).toBe(false);
      const rotated = await hasher.hash('chosen secret');
      expect(await verifier.verify('svc', 'chosen secret', rotated)).toBe(true);
      expect(await verifier.verify('other', 'chosen secret', stored)).toBe(true);
      expect(verify).toHaveBeenCalledTimes(4);
    } finally {
      verify.mockRestore();
    }
  });

  test('concurrent checks of the same credentials share one derivation', async () => {
    const verifier = new SecretVerifier(hasher, options);
    const verify = jest.spyOn(hasher, 'verify');
    try {
      const results = await Promise.all(
        Array.from({ length: 10 }, () => verifier.verify('svc', 'chosen secret', stored)),
      );
      expect(results).toEqual(Array(10).fill(true));
      expect(verify).toHaveBeenCalledTimes(1);
    } finally {
      verify.mockRestore();
    }
  });

  test('keyed digests skip the cache and the limiter', async () => {
    const verifier = new SecretVerifier(hasher, {
      ...options,
      maxConcurrentKdf: 1,
      maxQueuedKdf: 0,
    });
    const { secret, hash } = hasher.createSecret();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => verifier.verify('svc', secret, hash)),
    );
    expect(results).toEqual(Array(20).fill(true));
  });

  test('KDF work past the queue is refused with KdfBusyError', async () => {
    const verifier = new SecretVerifier(hasher, {
      ...options,
      maxConcurrentKdf: 1,
      maxQueuedKdf: 1,
    });
    const outcomes = await Promise.allSettled(
      ['a', 'b', 'c', 'd'].map((client) => verifier.verify(client, 'guess', stored)),
    );
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
    ]);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(KdfBusyError);
  });

  test('cacheTtl 0 turns the cache off', async () => {
    const verifier = new SecretVerifier(hasher, { ...options, cacheTtl: 0 });
    const verify = jest.spyOn(hasher, 'verify');
    try {
      await verifier.verify('svc', 'chosen secret', stored);
      await verifier.verify('svc', 'chosen secret', stored);
      expect(verify).toHaveBeenCalledTimes(2);
    } finally {
      verify.mockRestore();
    }
  });
});

describe('SecretVerifier fairness', () => {
  test('one client id may hold a quarter of the KDF slots: a flood against it leaves room for others', async () => {
    const hasher = new ClientSecretHasher();
    const stored = await hasher.hash('chosen secret');
    const verifier = new SecretVerifier(hasher, {
      ...options,
      maxConcurrentKdf: 2,
      maxQueuedKdf: 6,
    });
    const flood = ['a', 'b', 'c', 'd'].map((guess) => verifier.verify('target', guess, stored));
    const other = verifier.verify('other', 'chosen secret', stored);
    const outcomes = await Promise.allSettled(flood);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
    ]);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(KdfBusyError);
    expect(await other).toBe(true);
  });
});

describe('SecretVerifier cacheTtl, in seconds', () => {
  const hasher = new ClientSecretHasher();
  let stored: string;
  beforeAll(async () => {
    stored = await hasher.hash('chosen secret');
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  test.each([1, 300])(
    'cacheTtl %i: a success is remembered at cacheTtl·1000 − 1 ms, derived again at cacheTtl·1000 + 1 ms',
    async (cacheTtl) => {
      useFakeClock();
      const verifier = new SecretVerifier(hasher, { ...options, cacheTtl });
      const verify = jest.spyOn(hasher, 'verify');
      expect(await verifier.verify('svc', 'chosen secret', stored)).toBe(true);
      expect(verify).toHaveBeenCalledTimes(1);

      jest.advanceTimersByTime(cacheTtl * 1000 - 1);
      expect(await verifier.verify('svc', 'chosen secret', stored)).toBe(true);
      expect(verify).toHaveBeenCalledTimes(1);

      jest.advanceTimersByTime(2);
      expect(await verifier.verify('svc', 'chosen secret', stored)).toBe(true);
      expect(verify).toHaveBeenCalledTimes(2);
    },
  );
});
