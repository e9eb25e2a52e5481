import { RecordingEventSink, RecordingMetrics } from '../../test/support/observability.js';
import { describe, expect, jest, test } from '@jest/globals';
import { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { StaticKeyRing } from '../keys/key-ring.js';
import { OAuth2Config } from '../oauth2-config.js';
import type { OAuth2ModuleOptions } from '../oauth2-options.interface.js';
import type { OAuth2RevocationRecord } from '../state/change-feed.js';
import { clientRevocation, InMemoryOAuth2RevocationStore } from '../state/revocation-store.js';
import { rejectedAs } from '../../test/support/thrown.js';
import { OAuth2Revocations } from './revocations.service.js';
import { createJwtService, TokenService } from './token.service.js';

function setup(options: Partial<OAuth2ModuleOptions> = {}) {
  const config = new OAuth2Config({
    issuer: 'https://auth.example.com',
    signing: { algorithm: 'HS256', secret: 'x'.repeat(32) },
    ...options,
  });
  const store = new InMemoryOAuth2RevocationStore();
  const revoke = jest.spyOn(store, 'revoke');
  const tokens = new TokenService(
    createJwtService(config),
    config,
    new StaticKeyRing(config.keys!),
    store,
  );
  const issue = async (clientId: string, lifetime?: number) =>
    (await tokens.issue(OAuthClient.create({ clientId }), [], { lifetime })).access_token;
  const events = new RecordingEventSink();
  const metrics = new RecordingMetrics();
  const revocations = new OAuth2Revocations(tokens, store, config, events, metrics);
  return { revocations, tokens, revoke, issue, events, metrics };
}

describe('OAuth2Revocations', () => {
  test('RFC 7009 §2.1: the client’s own token is revoked until its exp (+ clock tolerance), and verify refuses it', async () => {
    const { revocations, tokens, revoke, issue } = setup({ clockTolerance: 7 });
    const token = await issue('svc', 600);
    const { claims } = await tokens.verify(token);
    await revocations.revokeToken('svc', token);
    expect(revoke.mock.calls).toEqual([
      [{ kind: 'token', jti: claims.jti, expiresAt: (claims.exp + 7) * 1000 }],
    ]);
    await expect(tokens.verify(token)).rejects.toMatchObject({
      error: 'invalid_token',
      description: 'The access token was revoked',
    });
  });

  test('RFC 7009 §2.2: another client’s token is left alone, without error', async () => {
    const { revocations, tokens, revoke, issue } = setup();
    const token = await issue('svc');
    await expect(revocations.revokeToken('intruder', token)).resolves.toBeUndefined();
    expect(revoke).not.toHaveBeenCalled();
    expect((await tokens.verify(token)).clientId).toBe('svc');
  });

  test.each([
    ['garbage', 'not-a-token'],
    ['a token of another signer', 'eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ4In0.c2lnbmF0dXJl'],
  ])('RFC 7009 §2.2: %s is no error and records nothing', async (_name, token) => {
    const { revocations, revoke } = setup();
    await expect(revocations.revokeToken('svc', token)).resolves.toBeUndefined();
    expect(revoke).not.toHaveBeenCalled();
  });

  test('RFC 7009 §2.2.1: a store that fails is a 503 with Retry-After, and nothing is revoked', async () => {
    const { revocations, tokens, revoke, issue, events, metrics } = setup();
    const token = await issue('svc');
    revoke.mockRejectedValueOnce(
      Object.assign(new Error(`redis://:hunter2@db ${token}`), { code: 'ECONNREFUSED' }),
    );
    const error = await rejectedAs(OAuth2Error, revocations.revokeToken('svc', token));
    expect(error.getStatus()).toBe(503);
    expect(error.extras.retryAfter).toBe(5);
    expect(JSON.stringify(error.body)).not.toMatch(/hunter2|eyJ/);
    expect((await tokens.verify(token)).clientId).toBe('svc');
    // Nothing revoked, no event; the store's failed attempt timed.
    expect(events.events).toEqual([]);
    expect(metrics.calls).toEqual([['revocationStore', 'revoke', expect.any(Number), true]]);
  });

  test('revokeClientTokens: every token the client holds, for the longest lifetime plus tolerance', async () => {
    const { revocations, tokens, revoke, issue } = setup({
      maxAccessTokenLifetime: 7200,
      clockTolerance: 3,
    });
    const held = await issue('svc');
    const other = await issue('other');
    const before = Date.now();
    await revocations.revokeClientTokens('svc');
    const record = revoke.mock.calls[0][0] as Extract<OAuth2RevocationRecord, { kind: 'client' }>;
    expect(record).toEqual({
      kind: 'client',
      clientId: 'svc',
      notBefore: expect.any(Number),
      expiresAt: record.notBefore + (7200 + 3 + 1) * 1000,
    });
    // clockTolerance ahead: what an instance whose clock runs ahead issued is refused too.
    expect(record.notBefore).toBeGreaterThanOrEqual(before + 3000);
    await expect(tokens.verify(held)).rejects.toMatchObject({ error: 'invalid_token' });
    expect((await tokens.verify(other)).clientId).toBe('other');
  });

  test('clientRevocation refuses tokens stamped up to clockTolerance ahead of now (a clock running ahead), not later ones', () => {
    const store = new InMemoryOAuth2RevocationStore();
    const now = Date.now();
    store.apply(clientRevocation('svc', now, { maxAccessTokenLifetime: 60, clockTolerance: 5 }));
    const second = Math.floor(now / 1000);
    const issuedAt = (offset: number) => ({ jti: 'j', clientId: 'svc', issuedAt: second + offset });
    expect(store.isRevoked(issuedAt(0))).toBe(true);
    expect(store.isRevoked(issuedAt(5))).toBe(true);
    expect(store.isRevoked(issuedAt(6))).toBe(false);
  });

  test('revokeClientTokens rejects with the store’s error', async () => {
    const { revocations, revoke, events, metrics } = setup();
    const failure = new Error('down');
    revoke.mockRejectedValueOnce(failure);
    await expect(revocations.revokeClientTokens('svc')).rejects.toBe(failure);
    expect(events.events).toEqual([]);
    expect(metrics.calls).toEqual([['revocationStore', 'revoke', expect.any(Number), true]]);
  });
});
