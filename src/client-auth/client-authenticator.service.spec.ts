import { describe, expect, jest, test } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { CachingOAuthClientRepository } from '../clients/caching-client.repository.js';
import { ClientSecretHasher } from '../clients/client-secret.hasher.js';
import { InMemoryOAuthClientRepository } from '../clients/in-memory-client.repository.js';
import { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Config } from '../oauth2-config.js';
import { refusalReason } from './auth-failure.js';
import { ClientAuthenticator } from './client-authenticator.service.js';
import { SecretVerifier } from './secret-verifier.js';

const LIVE = 'the live chosen passphrase';
const SAME_SALT = 'an expired passphrase, same salt';
const OWN_SALT = 'an expired passphrase, own salt';

/** A client with a live chosen secret, an expired one sharing its salt, and an expired one of its own salt. */
async function setup() {
  const config = new OAuth2Config({
    issuer: 'https://auth.example.com',
    signing: { algorithm: 'HS256', secret: 'x'.repeat(32) },
  });
  const hasher = new ClientSecretHasher();
  const clients = new InMemoryOAuthClientRepository();
  const live = await hasher.hash(LIVE);
  const past = new Date(Date.now() - 1000);
  await clients.save(OAuthClient.create({ clientId: 'svc', clientSecret: live }));
  const expired = async (id: string, hash: string) =>
    clients.addSecret('svc', { id, hash, createdAt: past, expiresAt: past, lastUsedAt: null });
  await expired('same', await hasher.hash(SAME_SALT, { sameSaltAs: live }));
  await expired('own', await hasher.hash(OWN_SALT));
  const verifier = new SecretVerifier(hasher, {
    cacheTtl: 0,
    cacheMax: 10,
    maxConcurrentKdf: 2,
    maxQueuedKdf: 10,
  });
  const derivations = jest.spyOn(hasher, 'verifyScryptGroup');
  return { authenticator: new ClientAuthenticator(clients, hasher, verifier, config), derivations };
}

const reasonOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (error: unknown) => refusalReason(error),
  );

describe('ClientAuthenticator: why a secret is refused, at no more KDF work than the live secrets cost', () => {
  test.each([
    ['a wrong secret', 'wrong_secret', 'not any of them at all'],
    ['an expired secret sharing the live one’s salt', 'expired_secret', SAME_SALT],
    // Telling it expired would take a derivation of its own salt: it is reported as a wrong secret.
    ['an expired secret with a salt of its own', 'wrong_secret', OWN_SALT],
    ['the live secret', 'accepted', LIVE],
  ])('%s → %s, one derivation', async (_, reason, presented) => {
    const { authenticator, derivations } = await setup();
    expect(await reasonOf(authenticator.authenticate('svc', presented))).toBe(reason);
    expect(derivations).toHaveBeenCalledTimes(1);
  });

  test('an unknown client: unknown_client, no derivation', async () => {
    const { authenticator, derivations } = await setup();
    expect(await reasonOf(authenticator.authenticate('nobody', LIVE))).toBe('unknown_client');
    expect(derivations).not.toHaveBeenCalled();
  });

  test('no secret from a confidential client (the none method): method_not_allowed', async () => {
    const { authenticator } = await setup();
    expect(await reasonOf(authenticator.authenticate('svc', undefined))).toBe('method_not_allowed');
  });
});

describe('ClientAuthenticator: a stored secret it cannot verify is logged once per client', () => {
  const PLAINTEXT = 'a plaintext secret of mine';
  const BCRYPT = `$2y$10$${'N9qo8uLOickgx2ZMRZoMye'}${'IjZAgcfl7p92ldGxad68LJZdL17lhWy'}`;

  async function withClients(stored: Record<string, string>, legacyPlaintextSecrets = false) {
    const config = new OAuth2Config({
      issuer: 'https://auth.example.com',
      signing: { algorithm: 'HS256', secret: 'x'.repeat(32) },
      legacyPlaintextSecrets,
    });
    const hasher = new ClientSecretHasher();
    const clients = new InMemoryOAuthClientRepository();
    for (const [clientId, clientSecret] of Object.entries(stored)) {
      await clients.save(OAuthClient.create({ clientId, clientSecret }));
    }
    const verifier = new SecretVerifier(hasher, {
      cacheTtl: 0,
      cacheMax: 10,
      maxConcurrentKdf: 2,
      maxQueuedKdf: 10,
    });
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const authenticator = new ClientAuthenticator(clients, hasher, verifier, config);
    /** Two attempts per client with the plaintext value: the warnings they gave. */
    const warningsAfterTwoAttempts = async (...clientIds: string[]) => {
      for (let attempt = 0; attempt < 2; attempt++) {
        for (const clientId of clientIds) {
          await reasonOf(authenticator.authenticate(clientId, PLAINTEXT));
        }
      }
      const warnings = [...warn.mock.calls] as unknown as [string, Record<string, string>][];
      warn.mockRestore();
      const calls = warnings.map((call) => call.map((part) => JSON.stringify(part)));
      return { calls, warnings };
    };
    return { authenticator, warningsAfterTwoAttempts, hasher };
  }

  test('plaintext, legacy mode off: refused, one warning naming the client and the fixes', async () => {
    const { authenticator, warningsAfterTwoAttempts } = await withClients({ svc: PLAINTEXT });
    expect(await reasonOf(authenticator.authenticate('svc', PLAINTEXT))).toBe('wrong_secret');
    const { warnings, calls } = await warningsAfterTwoAttempts('svc');
    expect(warnings).toHaveLength(1);
    const [message, fields] = warnings[0];
    expect(fields).toEqual({ event: 'oauth2.client_auth.secret_unreadable', clientId: 'svc' });
    expect(message).toMatch(/^Client "svc": a stored client secret is no hash this server reads/);
    for (const fix of ['ClientSecretHasher', 'hash-legacy-secrets', 'legacyPlaintextSecrets']) {
      expect(message).toContain(fix);
    }
    expect(calls.join(' ')).not.toContain(PLAINTEXT);
  });

  test("another scheme's hash: one warning saying so, without the hash", async () => {
    const { warningsAfterTwoAttempts } = await withClients({ svc: BCRYPT });
    const { warnings, calls } = await warningsAfterTwoAttempts('svc');
    expect(warnings).toHaveLength(1);
    expect(warnings[0][0]).toContain('is a hash of another scheme');
    expect(calls.join(' ')).not.toContain(BCRYPT.slice(7));
  });

  test('each client is named once', async () => {
    const { warningsAfterTwoAttempts } = await withClients({ a: PLAINTEXT, b: BCRYPT });
    const { warnings } = await warningsAfterTwoAttempts('a', 'b');
    expect(warnings.map(([, fields]) => fields.clientId)).toEqual(['a', 'b']);
  });

  test('no warning for a hash of ours, nor for plaintext in legacy mode (accepted, then hashed)', async () => {
    const hasher = new ClientSecretHasher();
    const ours = await withClients({ svc: hasher.digestGenerated(PLAINTEXT) });
    expect((await ours.warningsAfterTwoAttempts('svc')).warnings).toEqual([]);
    const legacy = await withClients({ svc: PLAINTEXT }, true);
    expect(await reasonOf(legacy.authenticator.authenticate('svc', PLAINTEXT))).toBe('accepted');
    expect((await legacy.warningsAfterTwoAttempts('svc')).warnings).toEqual([]);
  });
});

describe('ClientAuthenticator: a client the cache holds', () => {
  test('is authenticated from the cache alone: no storage read, no storage timer', async () => {
    const config = new OAuth2Config({
      issuer: 'https://auth.example.com',
      signing: { algorithm: 'HS256', secret: 'x'.repeat(32) },
      storageTimeoutMs: 4321,
    });
    const hasher = new ClientSecretHasher();
    const store = new InMemoryOAuthClientRepository();
    await store.save(
      OAuthClient.create({ clientId: 'svc', clientSecret: await hasher.hash(LIVE) }),
    );
    const clients = new CachingOAuthClientRepository(store, { ttl: 60, max: 10, maxWaitMs: 50 });
    const verifier = new SecretVerifier(hasher, {
      cacheTtl: 60,
      cacheMax: 10,
      maxConcurrentKdf: 2,
      maxQueuedKdf: 10,
    });
    const authenticator = new ClientAuthenticator(clients, hasher, verifier, config);
    expect((await authenticator.authenticate('svc', LIVE)).clientId).toBe('svc');
    // Storage now hangs: only the cache can answer.
    const hang = () => new Promise<never>(() => {});
    const findById = jest.spyOn(store, 'findById').mockImplementation(hang);
    const findSecrets = jest.spyOn(store, 'findSecrets').mockImplementation(hang);
    const timers = jest.spyOn(globalThis, 'setTimeout');
    try {
      expect((await authenticator.authenticate('svc', LIVE)).clientId).toBe('svc');
      expect(await reasonOf(authenticator.authenticate('svc', 'wrong'))).toBe('wrong_secret');
      // The lookup's timeout bounds storage; a cache hit needs none.
      expect(timers.mock.calls.filter(([, delay]) => delay === 4321)).toEqual([]);
    } finally {
      timers.mockRestore();
    }
    expect(findById).not.toHaveBeenCalled();
    expect(findSecrets).not.toHaveBeenCalled();
  });
});
