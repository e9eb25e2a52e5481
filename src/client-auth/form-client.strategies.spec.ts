import { afterAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import passport from 'passport';
import { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { MalformedRequestError, type OAuth2HttpRequest } from '../http/http-request.js';
import { OAuth2Config } from '../oauth2-config.js';
import { ClientAuthMethods } from './client-auth-methods.js';
import type { ClientAuthenticator } from './client-authenticator.service.js';
import { ClientSecretPostStrategy, PublicClientStrategy } from './form-client.strategies.js';
import { runStrategy, type PassportActions } from '../../test/support/passport.js';

const FORM = 'application/x-www-form-urlencoded';
const CLIENT = OAuthClient.create({ clientId: 'svc', clientSecret: 'hash' });

/** passport's action functions, which it assigns to a strategy before calling authenticate(). */
const methods = new ClientAuthMethods(
  new OAuth2Config({
    issuer: 'https://auth.example.com',
    signing: { algorithm: 'HS256', secret: 'x'.repeat(32) },
    allowPublicClients: true,
  }),
);
const authenticate = jest.fn<ClientAuthenticator['authenticate']>();
const authenticator = { authenticate } as unknown as ClientAuthenticator;
const post = new ClientSecretPostStrategy(authenticator, methods);
const none = new PublicClientStrategy(authenticator, methods);

afterAll(() => methods.onModuleDestroy());
beforeEach(() => {
  authenticate.mockReset();
});

function request(body: unknown, contentType: string | undefined = FORM): OAuth2HttpRequest {
  return { method: 'POST', headers: { 'content-type': contentType }, body };
}

/** The one error the strategy reported, with no success or failure. */
function reportedError(actions: PassportActions): unknown {
  expect(actions.success).not.toHaveBeenCalled();
  expect(actions.fail).not.toHaveBeenCalled();
  expect(actions.error).toHaveBeenCalledTimes(1);
  return actions.error.mock.calls[0][0];
}

function expectInvalidClient(error: unknown): void {
  expect(error).toBeInstanceOf(OAuth2Error);
  expect((error as OAuth2Error).error).toBe('invalid_client');
  expect((error as OAuth2Error).getStatus()).toBe(401);
  expect((error as OAuth2Error).description).toBe('Client authentication failed');
}

function expectMalformed(error: unknown, message: string): void {
  expect(error).toBeInstanceOf(MalformedRequestError);
  expect((error as MalformedRequestError).message).toBe(message);
  expect((error as MalformedRequestError).status).toBe(400);
}

const registered = (name: string): unknown =>
  (passport as unknown as { _strategies: Record<string, unknown> })._strategies[name];

describe('ClientSecretPostStrategy (client_secret_post, RFC 6749 §2.3.1)', () => {
  test('registers itself in passport under its module instance name', () => {
    expect(post.name).toBe(methods.strategyName('client_secret_post'));
    expect(registered(methods.strategyName('client_secret_post'))).toBe(post);
  });

  test('client_id and client_secret → the authenticator is asked, its client is the success', async () => {
    authenticate.mockResolvedValueOnce(CLIENT);
    const actions = await runStrategy(
      post,
      request({ grant_type: 'client_credentials', client_id: 'svc', client_secret: 'secret' }),
    );
    expect(authenticate.mock.calls).toEqual([['svc', 'secret', 'unknown']]);
    expect(actions.success).toHaveBeenCalledTimes(1);
    expect(actions.success.mock.calls[0][0]).toBe(CLIENT);
    expect(actions.fail).not.toHaveBeenCalled();
    expect(actions.error).not.toHaveBeenCalled();
  });

  test('a secret holding colons and starting with one reaches the authenticator whole, not decoded again', async () => {
    authenticate.mockResolvedValueOnce(CLIENT);
    await runStrategy(post, request({ client_id: 'svc', client_secret: ':se:cr+et%41' }));
    expect(authenticate.mock.calls).toEqual([['svc', ':se:cr+et%41', 'unknown']]);
  });

  test.each([
    ['no client_id', { client_secret: 's' }],
    ['an empty client_id', { client_id: '', client_secret: 's' }],
    ['no client_secret', { client_id: 'svc' }],
    ['an empty client_secret', { client_id: 'svc', client_secret: '' }],
  ])('%s → error(invalid_client), the authenticator is not asked', async (_name, body) => {
    expectInvalidClient(reportedError(await runStrategy(post, request(body))));
    expect(authenticate).not.toHaveBeenCalled();
  });

  test.each([
    ['client_id', { client_id: ['a', 'b'], client_secret: 's' }],
    ['client_secret', { client_id: 'svc', client_secret: ['s', 't'] }],
    ['client_secret', { client_id: 'svc', client_secret: { x: 's' } }],
  ])(
    'RFC 6749 §3.2: a repeated or bracketed %s → error(MalformedRequestError)',
    async (name, body) => {
      expectMalformed(
        reportedError(await runStrategy(post, request(body))),
        `The ${name} parameter is repeated or malformed`,
      );
      expect(authenticate).not.toHaveBeenCalled();
    },
  );

  test('RFC 6749 §3.2: a body that is not a form → error(MalformedRequestError)', async () => {
    expectMalformed(
      reportedError(
        await runStrategy(
          post,
          request({ client_id: 'svc', client_secret: 's' }, 'application/json'),
        ),
      ),
      'The request body must be application/x-www-form-urlencoded',
    );
  });

  test('the authenticator’s rejection → error(that rejection)', async () => {
    const refusal = OAuth2Error.invalidClient();
    authenticate.mockRejectedValueOnce(refusal);
    expect(
      reportedError(await runStrategy(post, request({ client_id: 'svc', client_secret: 'wrong' }))),
    ).toBe(refusal);
  });

  test('no client from the authenticator → fail', async () => {
    authenticate.mockResolvedValueOnce(undefined as unknown as OAuthClient);
    const actions = await runStrategy(post, request({ client_id: 'svc', client_secret: 's' }));
    expect(actions.fail).toHaveBeenCalledTimes(1);
    expect(actions.success).not.toHaveBeenCalled();
    expect(actions.error).not.toHaveBeenCalled();
  });
});

describe('PublicClientStrategy (none, RFC 6749 §2.1, §3.2.1)', () => {
  test('registers itself in passport under its module instance name', () => {
    expect(none.name).toBe(methods.strategyName('none'));
    expect(registered(methods.strategyName('none'))).toBe(none);
    expect(registered(methods.strategyName('none'))).not.toBe(post);
  });

  test('client_id alone → authenticate(id, undefined), its client is the success', async () => {
    const pub = OAuthClient.create({ clientId: 'pub' });
    authenticate.mockResolvedValueOnce(pub);
    const actions = await runStrategy(
      none,
      request({ grant_type: 'client_credentials', client_id: 'pub' }),
    );
    expect(authenticate.mock.calls).toEqual([['pub', undefined, 'unknown']]);
    expect(authenticate.mock.calls[0]).toHaveLength(3);
    expect(actions.success.mock.calls[0][0]).toBe(pub);
  });

  test('an empty client_secret next to it is no secret', async () => {
    authenticate.mockResolvedValueOnce(CLIENT);
    await runStrategy(none, request({ client_id: 'pub', client_secret: '' }));
    expect(authenticate.mock.calls).toEqual([['pub', undefined, 'unknown']]);
  });

  test.each([
    ['no client_id', {}],
    ['an empty client_id', { client_id: '' }],
  ])('%s → error(invalid_client)', async (_name, body) => {
    expectInvalidClient(reportedError(await runStrategy(none, request(body))));
    expect(authenticate).not.toHaveBeenCalled();
  });

  test('RFC 6749 §3.2: a repeated client_id → error(MalformedRequestError)', async () => {
    expectMalformed(
      reportedError(await runStrategy(none, request({ client_id: { x: 'a' } }))),
      'The client_id parameter is repeated or malformed',
    );
  });

  test('the authenticator’s rejection → error(that rejection)', async () => {
    const refusal = OAuth2Error.invalidClient();
    authenticate.mockRejectedValueOnce(refusal);
    expect(reportedError(await runStrategy(none, request({ client_id: 'svc' })))).toBe(refusal);
  });
});
