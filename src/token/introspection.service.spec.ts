import { RecordingEventSink } from '../../test/support/observability.js';
import { describe, expect, jest, test } from '@jest/globals';
import { OAuthClient } from '../clients/oauth-client.entity.js';
import { InMemoryOAuthClientRepository } from '../clients/in-memory-client.repository.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { StaticKeyRing } from '../keys/key-ring.js';
import { OAuth2Config } from '../oauth2-config.js';
import type { OAuth2ModuleOptions } from '../oauth2-options.interface.js';
import { InMemoryOAuth2RevocationStore } from '../state/revocation-store.js';
import { rejectedAs } from '../../test/support/thrown.js';
import { TokenIntrospection } from './introspection.service.js';
import { createJwtService, TokenService } from './token.service.js';

const ISSUER = 'https://auth.example.com';
const SECRET = 'x'.repeat(32);

const CALLER = { clientId: 'rs', remoteAddress: '203.0.113.9' };

function setup(options: Partial<OAuth2ModuleOptions> = {}) {
  const config = new OAuth2Config({
    issuer: ISSUER,
    signing: { algorithm: 'HS256', secret: SECRET },
    ...options,
  });
  const store = new InMemoryOAuth2RevocationStore();
  const clients = new InMemoryOAuthClientRepository([
    OAuthClient.create({ clientId: 'svc', scope: 'reports:read reports:write', userId: 'user-7' }),
  ]);
  const tokens = new TokenService(
    createJwtService(config),
    config,
    new StaticKeyRing(config.keys!),
    store,
  );
  const events = new RecordingEventSink();
  const introspection = new TokenIntrospection(tokens, clients, config, events);
  const issue = async (scopes: string[] = ['reports:read'], audience?: string[]) =>
    (
      await tokens.issue(OAuthClient.create({ clientId: 'svc', userId: 'user-7' }), scopes, {
        audience,
      })
    ).access_token;
  return { introspection, tokens, store, clients, issue, events };
}

const INACTIVE = { active: false };

describe('TokenIntrospection', () => {
  test('RFC 7662 §2.2: an active token’s members, from its claims', async () => {
    const { introspection, tokens, issue } = setup();
    const token = await issue(
      ['reports:read', 'reports:write'],
      ['https://a.example', 'https://b.example'],
    );
    const { claims } = await tokens.verifyIssued(token).then((p) => p!);
    expect(await introspection.introspect(token, CALLER)).toEqual({
      active: true,
      scope: 'reports:read reports:write',
      client_id: 'svc',
      token_type: 'Bearer',
      exp: claims.exp,
      iat: claims.iat,
      sub: 'user-7',
      aud: ['https://a.example', 'https://b.example'],
      iss: ISSUER,
      jti: claims.jti,
    });
  });

  test('§2.2: no scope granted → no scope member', async () => {
    const { introspection, issue } = setup();
    const answer = await introspection.introspect(await issue([]), CALLER);
    expect(answer.active).toBe(true);
    expect(answer).not.toHaveProperty('scope');
  });

  test.each([
    ['malformed', async () => 'not.a.token'],
    [
      'signed by another server',
      async () => await setup({ signing: { algorithm: 'HS256', secret: 'y'.repeat(32) } }).issue(),
    ],
    [
      'of another issuer with our key',
      async () => await setup({ issuer: 'https://other.example' }).issue(),
    ],
  ])('§2.2: a token %s is exactly {active: false}', async (_name, make) => {
    const { introspection } = setup();
    expect(await introspection.introspect(await make(), CALLER)).toEqual(INACTIVE);
  });

  test('§2.2: an expired token is inactive', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    try {
      const { introspection, issue } = setup({ accessTokenLifetime: 60 });
      const token = await issue();
      expect((await introspection.introspect(token, CALLER)).active).toBe(true);
      jest.setSystemTime(Date.now() + 61_000);
      expect(await introspection.introspect(token, CALLER)).toEqual(INACTIVE);
    } finally {
      jest.useRealTimers();
    }
  });

  test('§2.2: a revoked token is inactive (the token, or its client’s tokens)', async () => {
    const { introspection, tokens, store, issue } = setup();
    const token = await issue();
    const { jti } = (await tokens.verifyIssued(token))!.claims;
    await store.revoke({ kind: 'token', jti, expiresAt: Date.now() + 60_000 });
    expect(await introspection.introspect(token, CALLER)).toEqual(INACTIVE);
    const other = await issue();
    await store.revoke({
      kind: 'client',
      clientId: 'svc',
      notBefore: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
    expect(await introspection.introspect(other, CALLER)).toEqual(INACTIVE);
  });

  test('§2.2: the token of a client disabled or deleted since is inactive', async () => {
    const { introspection, clients, issue } = setup();
    const token = await issue();
    const client = (await clients.findById('svc'))!;
    await clients.save(OAuthClient.create({ ...client, disabled: true }));
    expect(await introspection.introspect(token, CALLER)).toEqual(INACTIVE);
    await clients.delete('svc');
    expect(await introspection.introspect(token, CALLER)).toEqual(INACTIVE);
  });

  test('§2.3: a client lookup that fails is a 503 with Retry-After, not an inactive token', async () => {
    const { introspection, clients, issue } = setup();
    const token = await issue();
    jest.spyOn(clients, 'findById').mockRejectedValueOnce(new Error('connection refused'));
    const error = await rejectedAs(OAuth2Error, introspection.introspect(token, CALLER));
    expect(error.getStatus()).toBe(503);
    expect(error.extras.retryAfter).toBe(5);
  });

  test('§2.3: a client lookup that hangs is a 503 after storageTimeoutMs', async () => {
    const { introspection, clients, issue } = setup({ storageTimeoutMs: 20 });
    const token = await issue();
    jest.spyOn(clients, 'findById').mockReturnValueOnce(new Promise(() => {}));
    const error = await rejectedAs(OAuth2Error, introspection.introspect(token, CALLER));
    expect(error.getStatus()).toBe(503);
  });

  test('§2.1: by default a caller may introspect when its record’s scope holds `introspect`', () => {
    const { introspection } = setup();
    expect(
      introspection.mayIntrospect(OAuthClient.create({ clientId: 'rs', scope: 'introspect' })),
    ).toBe(true);
    expect(
      introspection.mayIntrospect(OAuthClient.create({ clientId: 'rs', scope: 'a introspect b' })),
    ).toBe(true);
    expect(
      introspection.mayIntrospect(OAuthClient.create({ clientId: 'rs', scope: 'introspection' })),
    ).toBe(false);
    expect(introspection.mayIntrospect(OAuthClient.create({ clientId: 'rs', scope: null }))).toBe(
      false,
    );
  });

  test('§2.1: introspectionAccess decides, given the client without its secret', () => {
    const access = jest.fn((client: { clientId: string }) => client.clientId === 'gateway');
    const { introspection } = setup({ introspectionAccess: access });
    expect(
      introspection.mayIntrospect(OAuthClient.create({ clientId: 'gateway', clientSecret: 'h' })),
    ).toBe(true);
    expect(
      introspection.mayIntrospect(OAuthClient.create({ clientId: 'rs', scope: 'introspect' })),
    ).toBe(false);
    expect(access.mock.calls[0][0]).not.toHaveProperty('clientSecret');
  });
});
