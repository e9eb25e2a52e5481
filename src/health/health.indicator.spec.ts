import { describe, expect, test } from '@jest/globals';
import { InMemoryOAuthClientRepository } from '../clients/in-memory-client.repository.js';
import { OAuth2KeyRing, StaticKeyRing } from '../keys/key-ring.js';
import type { OAuth2KeyStore } from '../keys/key-store.js';
import { OAuth2KeyStoreError } from '../keys/key-store-error.js';
import { SigningKeySet } from '../keys/signing-key-set.js';
import { generatePrivateKey } from '../keys/signing-keys.js';
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
});
