import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { InMemoryOAuthClientRepository } from '../clients/in-memory-client.repository.js';
import { OAuth2KeyRing, StaticKeyRing } from '../keys/key-ring.js';
import type { OAuth2KeyStore } from '../keys/key-store.js';
import { OAuth2KeyStoreError } from '../keys/key-store-error.js';
import { SigningKeySet } from '../keys/signing-key-set.js';
import { generatePrivateKey } from '../keys/signing-keys.js';
import { RedisUnavailableError, type RedisConnection } from '../redis/redis-connection.js';
import { OAuth2HealthIndicator } from './health.indicator.js';

const ring = async () =>
  new StaticKeyRing(
    SigningKeySet.fromOptions({
      algorithm: 'ES256',
      privateKey: await generatePrivateKey('ES256'),
    }),
  );
const noRing = new (class extends OAuth2KeyRing {
  get current(): SigningKeySet {
    throw new Error('OAuth2Module: the signing keys are not loaded yet');
  }
})();

describe('OAuth2HealthIndicator', () => {
  test('up: each check up under the key given', async () => {
    const keyRing = await ring();
    const indicator = new OAuth2HealthIndicator({
      clients: new InMemoryOAuthClientRepository(),
      keyRing,
      timeoutMs: 100,
    });
    expect(await indicator.isHealthy('auth')).toEqual({
      auth: {
        status: 'up',
        storage: { status: 'up' },
        signingKey: { status: 'up', kid: keyRing.current.active.kid!, algorithm: 'ES256' },
      },
    });
  });

  test('no key loaded: down; a driver error shows its class and code, never its message', async () => {
    const clients = new InMemoryOAuthClientRepository();
    clients.findById = async () => {
      throw Object.assign(new Error('password=hunter2 at db.internal:5432'), { code: '28P01' });
    };
    const result = await new OAuth2HealthIndicator({
      clients,
      keyRing: noRing,
      timeoutMs: 100,
    }).isHealthy();
    expect(result).toEqual({
      oauth2: {
        status: 'down',
        storage: { status: 'down', reason: 'Error (28P01)' },
        signingKey: { status: 'down', reason: 'no signing key is loaded' },
      },
    });
  });

  test('a key store that cannot be read, or hangs: down, each check within the timeout', async () => {
    const failing = {
      list: async () => {
        throw new OAuth2KeyStoreError('key_not_opened', 'signing key "k1" is unusable');
      },
    } as unknown as OAuth2KeyStore;
    const hanging = { list: () => new Promise(() => {}) } as unknown as OAuth2KeyStore;
    const keyRing = await ring();
    const clients = new InMemoryOAuthClientRepository();
    const of = (keyStore: OAuth2KeyStore) =>
      new OAuth2HealthIndicator({ clients, keyRing, keyStore, timeoutMs: 50 }).isHealthy();
    expect((await of(failing)).oauth2.signingKey).toMatchObject({
      status: 'down',
      reason: 'signing key "k1" is unusable',
    });
    expect((await of(hanging)).oauth2).toMatchObject({
      status: 'down',
      storage: { status: 'up' },
      signingKey: { status: 'down', reason: 'no answer within 50 ms' },
    });
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  test('one run at a time: concurrent callers share it, and its result is answered again for cacheMs', async () => {
    const keyRing = await ring();
    const clients = new InMemoryOAuthClientRepository();
    let lookups = 0;
    const held: (() => void)[] = [];
    clients.findById = async () => {
      lookups++;
      await new Promise<void>((resolve) => held.push(resolve));
      return null;
    };
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const indicator = new OAuth2HealthIndicator({ clients, keyRing, timeoutMs: 60_000 });
    const first = indicator.isHealthy('a');
    const second = indicator.isHealthy('b');
    await new Promise(setImmediate);
    expect(lookups).toBe(1);
    held.splice(0).forEach((resume) => resume());
    expect((await first).a.status).toBe('up');
    expect((await second).b.storage).toEqual({ status: 'up' });
    // Within the second: the same answer, no query; a caller changing its copy changes no other's.
    now += 999;
    const cached = await indicator.isHealthy();
    cached.oauth2.storage.status = 'down';
    expect((await indicator.isHealthy()).oauth2.storage).toEqual({ status: 'up' });
    expect(lookups).toBe(1);
    // Past it: the checks run anew.
    now += 1;
    const again = indicator.isHealthy();
    await new Promise(setImmediate);
    expect(lookups).toBe(2);
    held.splice(0).forEach((resume) => resume());
    expect((await again).oauth2.status).toBe('up');
  });

  test('a hung storage: one query per run, however many probes come while it hangs', async () => {
    const keyRing = await ring();
    const clients = new InMemoryOAuthClientRepository();
    let lookups = 0;
    clients.findById = () => {
      lookups++;
      return new Promise(() => {});
    };
    const indicator = new OAuth2HealthIndicator({ clients, keyRing, timeoutMs: 30, cacheMs: 0 });
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => indicator.isHealthy()));
    expect(lookups).toBe(1);
    for (const result of results) {
      expect(result.oauth2.storage).toEqual({ status: 'down', reason: 'no answer within 30 ms' });
    }
    // With no cache, the next probe (after the run ended) runs again.
    await indicator.isHealthy();
    expect(lookups).toBe(2);
  });

  test('redis: its loggable URL once, in `url`; the reason does not repeat it', async () => {
    const keyRing = await ring();
    const url = 'redis://127.0.0.1:6390';
    let failure: Error = new RedisUnavailableError(`Redis at ${url} is unavailable`);
    const connection = {
      run: async () => {
        throw failure;
      },
    } as unknown as RedisConnection;
    const of = () =>
      new OAuth2HealthIndicator({
        clients: new InMemoryOAuthClientRepository(),
        keyRing,
        redis: { connection, url: 'redis://user:hunter2@127.0.0.1:6390' },
        timeoutMs: 100,
      }).isHealthy();
    expect((await of()).oauth2.redis).toEqual({
      status: 'down',
      url,
      reason: 'Redis is unavailable',
    });
    failure = new RedisUnavailableError(`Redis at ${url} failed: ECONNRESET`);
    const body = await of();
    expect(body.oauth2.redis).toEqual({ status: 'down', url, reason: 'Redis failed: ECONNRESET' });
    expect(JSON.stringify(body)).not.toMatch(/hunter2|user@/);
  });
});
