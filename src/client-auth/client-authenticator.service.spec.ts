import { describe, expect, jest, test } from '@jest/globals';
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
