import { afterAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import passport from 'passport';
import { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { MalformedRequestError, type OAuth2HttpRequest } from '../http/http-request.js';
import { OAuth2Config } from '../oauth2-config.js';
import { ClientAuthMethods } from './client-auth-methods.js';
import type { ClientAuthenticator } from './client-authenticator.service.js';
import { ClientSecretBasicStrategy } from './client-secret-basic.strategy.js';
import { runStrategy, type PassportActions } from '../../test/support/passport.js';

const FORM = 'application/x-www-form-urlencoded';
const CLIENT = OAuthClient.create({ clientId: 'svc', clientSecret: 'hash' });
const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64');
const basic = (userPass: string): string => `Basic ${b64(userPass)}`;

/** passport's action functions, which it assigns to a strategy before calling authenticate(). */
const methods = new ClientAuthMethods(
  new OAuth2Config({
    issuer: 'https://auth.example.com',
    signing: { algorithm: 'HS256', secret: 'x'.repeat(32) },
  }),
);
const authenticate = jest.fn<ClientAuthenticator['authenticate']>();
const strategy = new ClientSecretBasicStrategy(
  { authenticate } as unknown as ClientAuthenticator,
  methods,
);

afterAll(() => methods.onModuleDestroy());

function request(
  authorization: string | undefined,
  body: unknown = {},
  contentType: string | undefined = FORM,
): OAuth2HttpRequest {
  return { method: 'POST', headers: { authorization, 'content-type': contentType }, body };
}

/** The one error the strategy reported, with no success or failure. */
function reportedError(actions: PassportActions): unknown {
  expect(actions.success).not.toHaveBeenCalled();
  expect(actions.fail).not.toHaveBeenCalled();
  expect(actions.error).toHaveBeenCalledTimes(1);
  return actions.error.mock.calls[0][0];
}

async function expectMalformed(req: OAuth2HttpRequest, message: string): Promise<void> {
  const error = reportedError(await runStrategy(strategy, req));
  expect(error).toBeInstanceOf(MalformedRequestError);
  expect((error as MalformedRequestError).message).toBe(message);
  expect((error as MalformedRequestError).status).toBe(400);
  expect(authenticate).not.toHaveBeenCalled();
}

describe('ClientSecretBasicStrategy (client_secret_basic, RFC 6749 §2.3.1)', () => {
  beforeEach(() => {
    authenticate.mockReset();
  });

  test('registers itself in passport under its module instance name', () => {
    const name = methods.strategyName('client_secret_basic');
    expect(strategy.name).toBe(name);
    expect((passport as unknown as { _strategy(name: string): unknown })._strategy(name)).toBe(
      strategy,
    );
  });

  test('valid credentials → the authenticator is asked, its client is the success', async () => {
    authenticate.mockResolvedValueOnce(CLIENT);
    const actions = await runStrategy(strategy, request(basic('svc:secret')));
    expect(authenticate.mock.calls).toEqual([['svc', 'secret', 'unknown']]);
    expect(actions.success.mock.calls).toEqual([[CLIENT]]);
    expect(actions.success.mock.calls[0][0]).toBe(CLIENT);
    expect(actions.fail).not.toHaveBeenCalled();
    expect(actions.error).not.toHaveBeenCalled();
  });

  test('RFC 7617 §2: a secret holding colons, and starting with one, reaches the authenticator whole', async () => {
    authenticate.mockResolvedValueOnce(CLIENT);
    await runStrategy(strategy, request(basic('svc::se:cr:et:')));
    expect(authenticate.mock.calls).toEqual([['svc', ':se:cr:et:', 'unknown']]);
  });

  test('RFC 7617 §2: an empty secret reaches the authenticator as an empty string', async () => {
    authenticate.mockResolvedValueOnce(CLIENT);
    await runStrategy(strategy, request(basic('svc:')));
    expect(authenticate.mock.calls).toEqual([['svc', '', 'unknown']]);
  });

  test('RFC 6749 Appendix B: id and secret are form-urldecoded (the RFC example)', async () => {
    authenticate.mockResolvedValueOnce(CLIENT);
    await runStrategy(
      strategy,
      request(basic('an%3Aidentifier:some+secure+%26+non-standard+secret')),
    );
    expect(authenticate.mock.calls).toEqual([
      ['an:identifier', 'some secure & non-standard secret', 'unknown'],
    ]);
  });

  test('RFC 6749 Appendix B: %XX is UTF-8, %2B a literal plus', async () => {
    authenticate.mockResolvedValueOnce(CLIENT);
    await runStrategy(strategy, request(basic('caf%C3%A9:a%2Bb+c')));
    expect(authenticate.mock.calls).toEqual([['café', 'a+b c', 'unknown']]);
  });

  test('RFC 9110 §11.1, §11.4: any case of the scheme and 1*SP', async () => {
    authenticate.mockResolvedValue(CLIENT);
    await runStrategy(strategy, request(`bAsIc ${b64('svc:s')}`));
    await runStrategy(strategy, request(`Basic   ${b64('svc:s')}`));
    expect(authenticate.mock.calls).toEqual([
      ['svc', 's', 'unknown'],
      ['svc', 's', 'unknown'],
    ]);
  });

  test.each([
    ['non-zero pad bits', 'Basic YWI6Y2R='],
    ['missing padding', 'Basic YWI6Y2Q'],
    ['base64url alphabet', 'Basic YWI_Y2Q='],
    ['no credentials', 'Basic'],
  ])(
    'RFC 4648 §3.5: non-canonical base64 (%s) → error(MalformedRequestError)',
    async (_name, header) => {
      await expectMalformed(request(header), 'The Basic credentials are not valid base64');
    },
  );

  test('RFC 7617 §2: no colon → error(MalformedRequestError)', async () => {
    await expectMalformed(request(basic('svc')), 'The Basic credentials lack a client id');
  });

  test('RFC 6749 Appendix B: bad percent-encoding → error(MalformedRequestError)', async () => {
    await expectMalformed(
      request(basic('svc:%FF')),
      'The client credentials are not correctly form-urlencoded',
    );
  });

  test('RFC 9110 §11.4: a malformed Authorization header → error(MalformedRequestError)', async () => {
    await expectMalformed(
      request(`Basic\t${b64('svc:s')}`),
      'The Authorization header is malformed',
    );
  });

  test('RFC 6749 §2.3.1: a body client_id equal to the Basic id is accepted', async () => {
    authenticate.mockResolvedValueOnce(CLIENT);
    const actions = await runStrategy(
      strategy,
      request(basic('an%3Aid:s'), { client_id: 'an:id' }),
    );
    expect(authenticate.mock.calls).toEqual([['an:id', 's', 'unknown']]);
    expect(actions.success).toHaveBeenCalledTimes(1);
  });

  test.each([
    ['another id', 'other'],
    ['another case (ids compare exactly)', 'SVC'],
  ])(
    'RFC 6749 §2.3.1: a body client_id with %s → error(OAuth2Error invalid_request)',
    async (_name, clientId) => {
      const error = reportedError(
        await runStrategy(strategy, request(basic('svc:s'), { client_id: clientId })),
      );
      expect(error).toBeInstanceOf(OAuth2Error);
      expect((error as OAuth2Error).error).toBe('invalid_request');
      expect((error as OAuth2Error).getStatus()).toBe(400);
      expect((error as OAuth2Error).description).toBe(
        'The client_id parameter does not match the Basic credentials',
      );
      expect(authenticate).not.toHaveBeenCalled();
    },
  );

  test('RFC 6749 §3.2: a repeated body client_id → error(MalformedRequestError)', async () => {
    await expectMalformed(
      request(basic('svc:s'), { client_id: ['svc', 'svc'] }),
      'The client_id parameter is repeated or malformed',
    );
  });

  test('an empty body client_id is no client_id', async () => {
    authenticate.mockResolvedValueOnce(CLIENT);
    const actions = await runStrategy(strategy, request(basic('svc:s'), { client_id: '' }));
    expect(actions.success).toHaveBeenCalledTimes(1);
  });

  test('a body that is not a form is not compared (the token request refuses it later)', async () => {
    authenticate.mockResolvedValueOnce(CLIENT);
    const actions = await runStrategy(
      strategy,
      request(basic('svc:s'), { client_id: 'other' }, 'application/json'),
    );
    expect(authenticate.mock.calls).toEqual([['svc', 's', 'unknown']]);
    expect(actions.success).toHaveBeenCalledTimes(1);
  });

  test.each(['Bearer abc', 'Digest username="a"', 'Negotiate', undefined])(
    'RFC 6749 §2.3.1: the scheme %j is not Basic → fail, the authenticator is not asked',
    async (header) => {
      const actions = await runStrategy(strategy, request(header));
      expect(actions.fail).toHaveBeenCalledTimes(1);
      expect(actions.fail.mock.calls[0][0]).toBe('Basic realm="Users"');
      expect(actions.success).not.toHaveBeenCalled();
      expect(actions.error).not.toHaveBeenCalled();
      expect(authenticate).not.toHaveBeenCalled();
    },
  );

  test('the authenticator’s rejection → error(that rejection)', async () => {
    const refusal = OAuth2Error.invalidClient();
    authenticate.mockRejectedValueOnce(refusal);
    const error = reportedError(await runStrategy(strategy, request(basic('svc:wrong'))));
    expect(error).toBe(refusal);
  });

  test('a storage outage from the authenticator → error(503 with Retry-After)', async () => {
    const outage = OAuth2Error.temporarilyUnavailable(5);
    authenticate.mockRejectedValueOnce(outage);
    expect(reportedError(await runStrategy(strategy, request(basic('svc:s'))))).toBe(outage);
  });

  test('no client from the authenticator → fail', async () => {
    authenticate.mockResolvedValueOnce(undefined as unknown as OAuthClient);
    const actions = await runStrategy(strategy, request(basic('svc:s')));
    expect(actions.fail).toHaveBeenCalledTimes(1);
    expect(actions.success).not.toHaveBeenCalled();
  });
});
