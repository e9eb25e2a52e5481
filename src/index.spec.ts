import { describe, expect, test } from '@jest/globals';
import * as api from './index.js';

/**
 * The runtime public surface. Adding or removing an export is an API change: update this list on purpose,
 * never to make the test pass. Type-only exports leave nothing at runtime and are not listed.
 */
const RUNTIME_EXPORTS = [
  'AccessTokenVerifier',
  'AuthenticatedClient',
  'CLIENT_AUTH_METHODS',
  'ClientAuthGuard',
  'ClientSecretHasher',
  'ClientSecretPolicyError',
  'DEFAULT_CLIENT_SECRET_TABLE',
  'DEFAULT_CLIENT_TABLE',
  'DEFAULT_KEY_TABLE',
  'DefaultOAuth2EventSink',
  'InMemoryOAuth2ChangeFeed',
  'InMemoryOAuth2ReplayStore',
  'InMemoryOAuth2RevocationStore',
  'InMemoryOAuth2ThrottleStore',
  'InMemoryOAuthClientRepository',
  'InjectOAuth2Options',
  'OAUTH2_MODULE_OPTIONS',
  'OAuth2ChangeFeed',
  'OAuth2Config',
  'OAuth2Error',
  'OAuth2ErrorRenderer',
  'OAuth2EventSink',
  'OAuth2Guard',
  'OAuth2GuardOptions',
  'OAuth2HealthIndicator',
  'OAuth2KeyRing',
  'OAuth2KeyStore',
  'OAuth2KeyStoreError',
  'OAuth2Metrics',
  'OAuth2Module',
  'OAuth2Public',
  'OAuth2ReplayStore',
  'OAuth2ResourceServerConfig',
  'OAuth2ResourceServerModule',
  'OAuth2RevocationStore',
  'OAuth2Revocations',
  'OAuth2ThrottleStore',
  'OAuthClient',
  'OAuthClientRepository',
  'OAuthPrincipal',
  'OAuthStoredClientSecret',
  'OAuthStoredKey',
  'OAuthSubjectConflictError',
  'PRIMARY_SECRET_ID',
  'STORED_KEY_ALGORITHMS',
  'Scopes',
  'SigningKeySet',
  'TokenService',
  'TypeOrmOAuth2KeyStore',
  'TypeOrmOAuthClientRepository',
  'clientRevocation',
  'oauth2Entities',
  'oauth2Migrations',
  'oauth2TableNames',
  'oauthClientEntity',
  'oauthStoredClientSecretEntity',
  'parseKeyEncryptionKey',
  'planActivation',
  'planRetirement',
  'prunableKeys',
];

describe('public API (src/index.ts)', () => {
  test('exports exactly the documented runtime names', () => {
    expect(Object.keys(api).sort()).toEqual(RUNTIME_EXPORTS);
  });

  test('no export is undefined (a re-export of a type-only or missing name)', () => {
    const undefinedExports = Object.entries(api)
      .filter(([, value]) => value === undefined)
      .map(([name]) => name);
    expect(undefinedExports).toEqual([]);
  });

  test('the public constants keep their values (injection tokens are stable)', () => {
    expect(api.OAUTH2_MODULE_OPTIONS).toBe('OAUTH2:MODULE_OPTIONS');
    expect(api.DEFAULT_CLIENT_TABLE).toBe('oauth_clients');
    expect(api.DEFAULT_KEY_TABLE).toBe('oauth_signing_keys');
  });

  test('internals stay internal', () => {
    const names = Object.keys(api);
    for (const internal of [
      'ClientAuthenticator',
      'ClientAuthMethods',
      'ClientSecretBasicStrategy',
      'ClientSecretPostStrategy',
      'PublicClientStrategy',
      'PrivateKeyJwtStrategy',
      'ClientAssertionVerifier',
      'ClientKeySets',
      'ClientCredentialsGrant',
      'TokenController',
      'TokenExceptionFilter',
      'TokenBodyRefusalFilter',
      'createJwtService',
      'resolveSigningKeys',
      'parseBasicCredentials',
      'parseAuthorization',
      'parseTokenRequest',
      'grantScopes',
      'SCOPE_PATTERN',
      'createClientTableMigration',
      'clientTableName',
      'MalformedRequestError',
      'OAuth2GraphQLError',
      'requestOf',
      'rpcRequest',
      'loadRpcException',
      'OAUTH2_CLIENT_STORE',
      'OAUTH2_KEY_STORE',
      'OAUTH2_EVENT_SINK',
      'GuardedOAuth2EventSink',
      'AuditingOAuthClientRepository',
      'AuditingOAuth2KeyStore',
      'JwksCache',
      'RemoteAccessTokenVerifier',
      'OAUTH2_RESOURCE_SERVER_OPTIONS',
      'KeyEncryptor',
      'RefreshingKeyRing',
      'StaticKeyRing',
      'oauthStoredKeyEntity',
      'createSigningKeyTableMigration',
      'typeOrm',
      'nestTypeOrm',
      'typeOrmRepositoriesModule',
      'OAUTH2_TYPEORM_REPOSITORIES',
      'checkTypeOrmStorage',
      'OAUTH2_STORAGE_REPORT',
    ]) {
      expect([internal, names.includes(internal)]).toEqual([internal, false]);
    }
  });
});
