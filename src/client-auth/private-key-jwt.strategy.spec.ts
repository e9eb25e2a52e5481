import { describe, expect, jest, test } from '@jest/globals';
import passport from 'passport';
import { OAuthClient } from '../clients/oauth-client.entity.js';
import { MalformedRequestError, type OAuth2HttpRequest } from '../http/http-request.js';
import { OAuth2Config } from '../oauth2-config.js';
import type { ClientAssertionVerifier } from './client-assertion.verifier.js';
import { ClientAuthMethods } from './client-auth-methods.js';
import { PrivateKeyJwtStrategy } from './private-key-jwt.strategy.js';
import { thrownBy } from '../../test/support/thrown.js';

const TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function setup() {
  const methods = new ClientAuthMethods(
    new OAuth2Config({
      issuer: 'https://auth.example.com',
      signing: { algorithm: 'HS256', secret: 'x'.repeat(32) },
    }),
  );
  const authenticate = jest.fn<ClientAssertionVerifier['authenticate']>(async ({ clientId }) =>
    OAuthClient.create({ clientId: clientId ?? 'svc' }),
  );
  const strategy = new PrivateKeyJwtStrategy(
    { authenticate } as unknown as ClientAssertionVerifier,
    methods,
  );
  return { methods, strategy, authenticate };
}

const form = (body: Record<string, unknown>): OAuth2HttpRequest => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body,
});

describe('PrivateKeyJwtStrategy', () => {
  test('registered in passport under exactly the name the request picks', () => {
    const { methods, strategy } = setup();
    try {
      const name = methods.strategyFor(form({ client_assertion_type: TYPE }));
      expect(name).toBe(methods.strategyName('private_key_jwt'));
      const registry = (passport as unknown as { _strategies: Record<string, unknown> })
        ._strategies;
      expect(registry[name]).toBe(strategy);
    } finally {
      methods.onModuleDestroy();
    }
  });

  test('hands the three form parameters to the verifier', async () => {
    const { methods, strategy, authenticate } = setup();
    try {
      await strategy.validate(
        form({ client_assertion_type: TYPE, client_assertion: 'a.b.c', client_id: 'svc' }),
      );
      await strategy.validate(form({ client_assertion: 'a.b.c' }));
      expect(authenticate.mock.calls).toEqual([
        [{ clientAssertionType: TYPE, clientAssertion: 'a.b.c', clientId: 'svc' }],
        [{ clientAssertionType: undefined, clientAssertion: 'a.b.c', clientId: undefined }],
      ]);
    } finally {
      methods.onModuleDestroy();
    }
  });

  test('RFC 6749 §3.2: a repeated parameter is a malformed request (400), not a verification', () => {
    const { methods, strategy, authenticate } = setup();
    try {
      const thrown = thrownBy(() =>
        strategy.validate(form({ client_assertion_type: TYPE, client_assertion: ['a', 'b'] })),
      );
      expect(thrown).toBeInstanceOf(MalformedRequestError);
      expect(authenticate).not.toHaveBeenCalled();
    } finally {
      methods.onModuleDestroy();
    }
  });
});
