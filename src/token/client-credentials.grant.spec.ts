import { RecordingEventSink } from '../../test/support/observability.js';
import { describe, expect, jest, test } from '@jest/globals';
import { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2Config } from '../oauth2-config.js';
import type { OAuth2ModuleOptions } from '../oauth2-options.interface.js';
import { ClientCredentialsGrant } from './client-credentials.grant.js';
import type { TokenRequest } from './token-request.js';
import type { OAuthTokenResponse } from './token-response.interface.js';
import type { OAuthTokenOptions, TokenService } from './token.service.js';
import { rejectedAs } from '../../test/support/thrown.js';

const RESPONSE: OAuthTokenResponse = {
  access_token: 'a.b.c',
  token_type: 'Bearer',
  expires_in: 3600,
};
const UNAUTHORIZED = 'The client is not allowed to use this grant type';

function setup(options: Partial<OAuth2ModuleOptions> = {}) {
  const config = new OAuth2Config({
    issuer: 'https://auth.example.com',
    signing: { algorithm: 'HS256', secret: 'x'.repeat(32) },
    ...options,
  });
  const issue = jest.fn(
    async (_client: OAuthClient, _scopes: readonly string[], _options: OAuthTokenOptions) =>
      RESPONSE,
  );
  const tokens = {
    issueAccessToken: async (...args: Parameters<typeof issue>) => ({
      response: await issue(...args),
      jti: 'jti-1',
      audience: [...(args[2].audience ?? [])],
      lifetime: args[2].lifetime ?? 0,
    }),
  } as unknown as TokenService;
  const events = new RecordingEventSink();
  const grant = new ClientCredentialsGrant(tokens, config, events);
  return { grant, issue, events };
}

const REQUESTER = { authMethod: 'client_secret_basic', remoteAddress: '203.0.113.7' };

const confidential = (fields: Partial<OAuthClient> = {}): OAuthClient =>
  OAuthClient.create({
    clientId: 'svc',
    clientSecret: 'stored-hash',
    scope: 'reports:read reports:write',
    ...fields,
  });

const tokenRequest = (scope?: string, resources: string[] = []): TokenRequest => ({
  grantType: 'client_credentials',
  scope,
  resources,
});
/** What a client with no audience or lifetime of its own gets: the module's. */
const MODULE_DEFAULTS: OAuthTokenOptions = {
  audience: ['https://auth.example.com'],
  lifetime: 3600,
};

async function expectError(
  promise: Promise<unknown>,
  error: string,
  description: string,
): Promise<void> {
  const e = await rejectedAs(OAuth2Error, promise);
  expect(e.error).toBe(error);
  expect(e.getStatus()).toBe(400);
  expect(e.description).toBe(description);
}

describe('ClientCredentialsGrant', () => {
  test('RFC 6749 §4.4.3: issues for the client with the requested scopes, and returns the response', async () => {
    const { grant, issue } = setup();
    const client = confidential();
    await expect(grant.respond(client, tokenRequest('reports:read'), REQUESTER)).resolves.toBe(
      RESPONSE,
    );
    expect(issue).toHaveBeenCalledTimes(1);
    expect(issue).toHaveBeenCalledWith(client, ['reports:read'], MODULE_DEFAULTS);
    expect(issue.mock.calls[0][0]).toBe(client);
  });

  describe('grant_types', () => {
    test('null allows every grant, as in the seed', async () => {
      const { grant, issue } = setup();
      await grant.respond(confidential({ grantTypes: null }), tokenRequest(), REQUESTER);
      expect(issue).toHaveBeenCalledTimes(1);
    });

    test.each([
      'client_credentials',
      'password client_credentials',
      '  client_credentials  refresh_token ',
    ])('a list holding client_credentials (%j) allows it', async (grantTypes) => {
      const { grant, issue } = setup();
      await grant.respond(confidential({ grantTypes }), tokenRequest(), REQUESTER);
      expect(issue).toHaveBeenCalledTimes(1);
    });

    test.each([
      'password',
      'authorization_code refresh_token',
      'CLIENT_CREDENTIALS',
      'client_credential',
      '',
    ])(
      'RFC 6749 §5.2: a list without client_credentials (%j) → unauthorized_client',
      async (grantTypes) => {
        const { grant, issue } = setup();
        await expectError(
          grant.respond(confidential({ grantTypes }), tokenRequest(), REQUESTER),
          'unauthorized_client',
          UNAUTHORIZED,
        );
        expect(issue).not.toHaveBeenCalled();
      },
    );
  });

  describe('public clients (RFC 6749 §2.1, §4.4)', () => {
    test('a public client is issued a token while allowPublicClients is on', async () => {
      const { grant, issue } = setup({ allowPublicClients: true });
      const client = confidential({ clientSecret: null });
      await expect(grant.respond(client, tokenRequest(), REQUESTER)).resolves.toBe(RESPONSE);
      expect(issue).toHaveBeenCalledWith(
        client,
        ['reports:read', 'reports:write'],
        MODULE_DEFAULTS,
      );
    });

    test('allowPublicClients does not lift the grant_types rule', async () => {
      const { grant } = setup({ allowPublicClients: true });
      await expectError(
        grant.respond(
          confidential({ clientSecret: null, grantTypes: 'password' }),
          tokenRequest(),
          REQUESTER,
        ),
        'unauthorized_client',
        UNAUTHORIZED,
      );
    });
  });

  describe('scope (RFC 6749 §3.3)', () => {
    test('none requested → the client’s whole registered scope', async () => {
      const { grant, issue } = setup();
      const client = confidential();
      await grant.respond(client, tokenRequest(), REQUESTER);
      expect(issue).toHaveBeenCalledWith(
        client,
        ['reports:read', 'reports:write'],
        MODULE_DEFAULTS,
      );
    });

    test('none requested and none registered → no scope', async () => {
      const { grant, issue } = setup();
      const client = confidential({ scope: null });
      await grant.respond(client, tokenRequest(), REQUESTER);
      expect(issue).toHaveBeenCalledWith(client, [], MODULE_DEFAULTS);
    });

    test('a subset is granted as requested, in the order requested', async () => {
      const { grant, issue } = setup();
      const client = confidential();
      await grant.respond(client, tokenRequest('reports:write reports:read'), REQUESTER);
      expect(issue).toHaveBeenCalledWith(
        client,
        ['reports:write', 'reports:read'],
        MODULE_DEFAULTS,
      );
    });

    test('duplicates collapse', async () => {
      const { grant, issue } = setup();
      const client = confidential();
      await grant.respond(
        client,
        tokenRequest('reports:read reports:read reports:write reports:read'),
        REQUESTER,
      );
      expect(issue).toHaveBeenCalledWith(
        client,
        ['reports:read', 'reports:write'],
        MODULE_DEFAULTS,
      );
    });

    test.each([
      ['two spaces', 'reports:read  reports:write'],
      ['a leading space', ' reports:read'],
      ['a trailing space', 'reports:read '],
      ['a tab', 'reports:read\treports:write'],
      ['a double quote', 'reports:"read"'],
      ['a backslash', 'reports\\read'],
      ['a non-ASCII character', 'rapports:lïre'],
      ['a space only', ' '],
    ])('a malformed scope (%s) → invalid_scope', async (_name, scope) => {
      const { grant, issue } = setup();
      await expectError(
        grant.respond(confidential(), tokenRequest(scope), REQUESTER),
        'invalid_scope',
        'The scope parameter is malformed',
      );
      expect(issue).not.toHaveBeenCalled();
    });

    test.each([
      ['a scope the client lacks', 'admin'],
      ['one too many', 'reports:read admin'],
      ['another case (scopes are case-sensitive)', 'Reports:Read'],
      ['a prefix of a registered scope', 'reports'],
    ])('beyond the client’s scope (%s) → invalid_scope', async (_name, scope) => {
      const { grant, issue } = setup();
      await expectError(
        grant.respond(confidential(), tokenRequest(scope), REQUESTER),
        'invalid_scope',
        'The requested scope exceeds what the client may be granted',
      );
      expect(issue).not.toHaveBeenCalled();
    });

    test('a client with no registered scope may not ask for one', async () => {
      const { grant } = setup();
      await expectError(
        grant.respond(confidential({ scope: null }), tokenRequest('reports:read'), REQUESTER),
        'invalid_scope',
        'The requested scope exceeds what the client may be granted',
      );
    });

    test('the client’s stored scope list tolerates extra white space', async () => {
      const { grant, issue } = setup();
      const client = confidential({ scope: '  reports:read \t reports:write ' });
      await grant.respond(client, tokenRequest('reports:write'), REQUESTER);
      expect(issue).toHaveBeenCalledWith(client, ['reports:write'], MODULE_DEFAULTS);
    });

    test('unauthorized_client is decided before the scope', async () => {
      const { grant } = setup();
      await expectError(
        grant.respond(confidential({ grantTypes: 'password' }), tokenRequest('admin'), REQUESTER),
        'unauthorized_client',
        UNAUTHORIZED,
      );
    });
  });

  describe('audience (RFC 8707) and lifetime, per client', () => {
    const API = 'https://api.example.com/reports';
    const OTHER = 'urn:example:billing';

    test('no resource asked: the client’s first audience, else the module’s', async () => {
      const { grant, issue } = setup({ audience: ['https://a.example', 'https://b.example'] });
      await grant.respond(confidential({ audience: `${API} ${OTHER}` }), tokenRequest(), REQUESTER);
      expect(issue.mock.calls[0][2].audience).toEqual([API]);
      await grant.respond(confidential(), tokenRequest(), REQUESTER);
      expect(issue.mock.calls[1][2].audience).toEqual(['https://a.example', 'https://b.example']);
    });

    test('the resources asked, each one the client may have, become the audience', async () => {
      const { grant, issue } = setup();
      const client = confidential({ audience: `${API} ${OTHER}` });
      await grant.respond(client, tokenRequest(undefined, [OTHER, API]), REQUESTER);
      expect(issue.mock.calls[0][2].audience).toEqual([OTHER, API]);
    });

    test('a client without audiences of its own may ask for the module’s', async () => {
      const { grant, issue } = setup();
      await grant.respond(
        confidential(),
        tokenRequest(undefined, ['https://auth.example.com']),
        REQUESTER,
      );
      expect(issue.mock.calls[0][2].audience).toEqual(['https://auth.example.com']);
    });

    test.each([
      ['one the client may not have', [`${API}/x`]],
      ['one of two', [API, 'https://evil.example']],
      ['another case', [API.toUpperCase()]],
    ])('a resource beyond the client’s audiences (%s) → invalid_target', async (_n, resources) => {
      const { grant, issue } = setup();
      await expectError(
        grant.respond(
          confidential({ audience: API }),
          tokenRequest(undefined, resources),
          REQUESTER,
        ),
        'invalid_target',
        'The client may not get a token for the requested resource',
      );
      expect(issue).not.toHaveBeenCalled();
    });

    test('stored values written around the CLI: a blank audience or a lifetime under 1 s mean the module’s', async () => {
      const { grant, issue } = setup({ accessTokenLifetime: 600 });
      await grant.respond(
        confidential({ audience: '  ', accessTokenLifetime: 0 }),
        tokenRequest(),
        REQUESTER,
      );
      expect(issue.mock.calls[0][2]).toEqual({
        audience: ['https://auth.example.com'],
        lifetime: 600,
      });
    });

    test('the client’s lifetime, cut to maxAccessTokenLifetime; none: the module’s', async () => {
      const { grant, issue } = setup({ accessTokenLifetime: 600, maxAccessTokenLifetime: 7200 });
      await grant.respond(confidential({ accessTokenLifetime: 60 }), tokenRequest(), REQUESTER);
      await grant.respond(confidential({ accessTokenLifetime: 86400 }), tokenRequest(), REQUESTER);
      await grant.respond(confidential(), tokenRequest(), REQUESTER);
      expect(issue.mock.calls.map((call) => call[2].lifetime)).toEqual([60, 7200, 600]);
    });
  });

  test('an error of TokenService.issue propagates unchanged', async () => {
    const { grant, issue } = setup();
    const failure = new Error('signing failed');
    issue.mockRejectedValueOnce(failure);
    await expect(grant.respond(confidential(), tokenRequest(), REQUESTER)).rejects.toBe(failure);
  });
});
