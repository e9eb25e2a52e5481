import { afterEach, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { useFakeClock } from '../../test/support/fake-clock.js';
import { ClientSecretHasher } from '../clients/client-secret.hasher.js';
import { OAuth2Metrics } from '../observability/metrics.js';
import { KdfBusyError } from './kdf-limiter.js';
import { SecretVerifier } from './secret-verifier.js';

const options = { cacheTtl: 60, cacheMax: 100, maxConcurrentKdf: 4, maxQueuedKdf: 8 };

describe('SecretVerifier', () => {
  const hasher = new ClientSecretHasher({ minSecretLength: 1 });
  let stored: string;
  beforeAll(async () => {
    stored = await hasher.hash('chosen secret');
  });

  test('its KDF load is observed until the module is destroyed, then disposed of', () => {
    const disposed = jest.fn();
    const observed: (() => unknown)[] = [];
    const metrics = new (class extends OAuth2Metrics {
      override observeKdfLoad(load: () => { running: number; waiting: number }): () => void {
        observed.push(load);
        return disposed;
      }
    })();
    const verifier = new SecretVerifier(hasher, options, metrics);
    expect(observed.map((load) => load())).toEqual([{ running: 0, waiting: 0 }]);
    expect(disposed).not.toHaveBeenCalled();
    verifier.onModuleDestroy();
    expect(disposed).toHaveBeenCalledTimes(1);
    // Without metrics there is nothing to dispose of.
    new SecretVerifier(hasher, options).onModuleDestroy();
  });

  test('a KDF hash is derived once; the success is then remembered', async () => {
    const verifier = new SecretVerifier(hasher, options);
    const verify = jest.spyOn(hasher, 'verifyScryptGroup');
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
    const verify = jest.spyOn(hasher, 'verifyScryptGroup');
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
    const verify = jest.spyOn(hasher, 'verifyScryptGroup');
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
    const verify = jest.spyOn(hasher, 'verifyScryptGroup');
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
  test('a flood of wrong secrets for a client id from one address sheds its own work, never the client’s own request from another address', async () => {
    const hasher = new ClientSecretHasher({ minSecretLength: 1 });
    const stored = await hasher.hash('chosen secret');
    const verifier = new SecretVerifier(hasher, {
      ...options,
      cacheTtl: 0,
      maxConcurrentKdf: 1,
      maxQueuedKdf: 3,
    });
    const flood = Array.from({ length: 8 }, (_, i) =>
      verifier.verify('target', `guess ${i}`, stored, '127.0.0.2'),
    );
    const own = verifier.verify('target', 'chosen secret', stored, '127.0.0.3');
    const outcomes = await Promise.allSettled(flood);
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const outcome of refused) {
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(KdfBusyError);
    }
    expect(await own).toBe(true);
  });
});

describe('SecretVerifier cacheTtl, in seconds', () => {
  const hasher = new ClientSecretHasher({ minSecretLength: 1 });
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
      const verify = jest.spyOn(hasher, 'verifyScryptGroup');
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

/** A promise and the functions that settle it, for work that finishes when the test says so. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A readable scrypt PHC string (never derived here: the hasher's derivation is replaced in these tests). */
const SCRYPT_STORED = `$scrypt$ln=15,r=8,p=1$${'A'.repeat(22)}$${'A'.repeat(32)}`;

describe('SecretVerifier: which work takes a KDF slot, and what is shared', () => {
  test('a keyed digest neither takes a KDF slot nor queues: it resolves while the only slot hangs', async () => {
    const hasher = new ClientSecretHasher({ minSecretLength: 1 });
    const { secret, hash } = hasher.createSecret();
    const hanging = deferred<number>();
    const realVerify = hasher.verifyScryptGroup.bind(hasher);
    const verify = jest
      .spyOn(hasher, 'verifyScryptGroup')
      .mockImplementation((presented, stored) =>
        stored[0] === SCRYPT_STORED ? hanging.promise : realVerify(presented, stored),
      );
    const verifier = new SecretVerifier(hasher, {
      ...options,
      maxConcurrentKdf: 1,
      maxQueuedKdf: 0,
    });
    const derivation = verifier.verify('other', 'chosen secret', SCRYPT_STORED);
    expect(verify).toHaveBeenCalledTimes(1);
    // The KDF is now full, its queue too: more KDF work is refused.
    await expect(verifier.verify('third', 'x', SCRYPT_STORED)).rejects.toBeInstanceOf(KdfBusyError);

    await expect(verifier.verify('svc', secret, hash)).resolves.toBe(true);
    await expect(verifier.verify('svc', `${secret}x`, hash)).resolves.toBe(false);

    hanging.resolve(0);
    expect(await derivation).toBe(true);
  });

  test('a derivation that rejected is not joined later: the next check asks the hasher again', async () => {
    const hasher = new ClientSecretHasher({ minSecretLength: 1 });
    const verify = jest
      .spyOn(hasher, 'verifyScryptGroup')
      .mockRejectedValueOnce(new Error('thread pool failure'))
      .mockResolvedValueOnce(0);
    const verifier = new SecretVerifier(hasher, options);
    await expect(verifier.verify('svc', 'chosen secret', SCRYPT_STORED)).rejects.toThrow(
      'thread pool failure',
    );
    await expect(verifier.verify('svc', 'chosen secret', SCRYPT_STORED)).resolves.toBe(true);
    expect(verify).toHaveBeenCalledTimes(2);
  });

  test('turns: with one slot, a second requester’s derivation runs right after the one running, before a flood’s queue', async () => {
    const hasher = new ClientSecretHasher({ minSecretLength: 1 });
    const pending = new Map<string, ReturnType<typeof deferred<number>>>();
    const verify = jest.spyOn(hasher, 'verifyScryptGroup').mockImplementation((presented) => {
      const work = deferred<number>();
      pending.set(presented, work);
      return work.promise;
    });
    const verifier = new SecretVerifier(hasher, {
      ...options,
      maxConcurrentKdf: 1,
      maxQueuedKdf: 8,
    });
    const flood = ['g1', 'g2', 'g3'].map((guess) =>
      verifier.verify('target', guess, SCRYPT_STORED, 'flood'),
    );
    const own = verifier.verify('target', 'mine', SCRYPT_STORED, 'own');
    expect(verify.mock.calls.map(([presented]) => presented)).toEqual(['g1']);
    pending.get('g1')!.resolve(-1);
    await flood[0];
    await new Promise((resolve) => setImmediate(resolve));
    expect(verify.mock.calls.map(([presented]) => presented)).toEqual(['g1', 'mine']);
    pending.get('mine')!.resolve(0);
    expect(await own).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    for (const guess of ['g2', 'g3']) pending.get(guess)?.resolve(-1);
    await new Promise((resolve) => setImmediate(resolve));
    pending.get('g3')?.resolve(-1);
    expect(await Promise.all(flood)).toEqual([false, false, false]);
  });

  test('the cache key keeps the fields apart: (ab, c) verified does not make (a, bc) a hit', async () => {
    const hasher = new ClientSecretHasher({ minSecretLength: 1 });
    const verify = jest
      .spyOn(hasher, 'verifyScryptGroup')
      .mockResolvedValueOnce(0)
      .mockResolvedValueOnce(-1);
    const verifier = new SecretVerifier(hasher, options);
    expect(await verifier.verify('ab', 'c', SCRYPT_STORED)).toBe(true);
    expect(await verifier.verify('a', 'bc', SCRYPT_STORED)).toBe(false);
    expect(verify.mock.calls).toEqual([
      ['c', [SCRYPT_STORED]],
      ['bc', [SCRYPT_STORED]],
    ]);
  });
});

describe('SecretVerifier.verifyAny: several secrets of one client', () => {
  const hasher = new ClientSecretHasher({ minSecretLength: 1 });

  test('a correct secret costs one derivation whichever of the chosen secrets it is, digests cost none', async () => {
    const old = await hasher.hash('old chosen secret');
    const next = await hasher.hash('new chosen secret', { sameSaltAs: old });
    const generated = hasher.createSecret();
    const verifier = new SecretVerifier(hasher, options);
    const derive = jest.spyOn(hasher, 'verifyScryptGroup');
    try {
      const stored = [old, generated.hash, next];
      expect(await verifier.verifyAny('svc', 'new chosen secret', stored)).toBe(2);
      expect(derive).toHaveBeenCalledTimes(1);
      expect(await verifier.verifyAny('svc', generated.secret, stored)).toBe(1);
      expect(derive).toHaveBeenCalledTimes(1);
      // Remembered per hash: the next request derives nothing.
      expect(await verifier.verifyAny('svc', 'new chosen secret', stored)).toBe(2);
      expect(await verifier.verifyAny('svc', 'old chosen secret', stored)).toBe(0);
      expect(derive).toHaveBeenCalledTimes(2);
      expect(await verifier.verifyAny('svc', 'wrong', stored)).toBe(-1);
      expect(derive).toHaveBeenCalledTimes(3);
    } finally {
      derive.mockRestore();
    }
  });

  test('hashes with different salts (made before sameSaltAs) are each derived: one run per salt', async () => {
    const a = await hasher.hash('a');
    const b = await hasher.hash('b');
    const verifier = new SecretVerifier(hasher, { ...options, cacheTtl: 0 });
    const derive = jest.spyOn(hasher, 'verifyScryptGroup');
    try {
      expect(await verifier.verifyAny('svc', 'b', [a, b])).toBe(1);
      expect(derive).toHaveBeenCalledTimes(2);
      expect(await verifier.verifyAny('svc', 'x', [])).toBe(-1);
    } finally {
      derive.mockRestore();
    }
  });
});
