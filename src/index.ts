export { OAuth2Module, InjectOAuth2Options } from './oauth2.module.js';
export { OAUTH2_MODULE_OPTIONS } from './oauth2.constants.js';
export { OAuth2Config } from './oauth2-config.js';
export type {
  OAuth2ModuleOptions,
  OAuth2ModuleExtras,
  OAuth2ClientAuthMethod,
  OAuth2ClientCacheOptions,
  OAuth2SecretVerificationOptions,
  OAuth2StoreOptions,
  OAuth2RedisOptions,
  OAuth2CustomClaims,
  OAuth2ClaimsContext,
  OAuth2ClientRepositoryProvider,
  OAuth2KeyStoreProvider,
  OAuth2EventSinkProvider,
  OAuth2ProviderOf,
} from './oauth2-options.interface.js';
export { OAuth2KeyRing } from './keys/key-ring.js';
export { OAuth2KeyStore } from './keys/key-store.js';
export type { KeyActivationOptions } from './keys/key-store.js';
export { TypeOrmOAuth2KeyStore } from './keys/typeorm-key.store.js';
export type { TypeOrmOAuth2KeyStoreOptions } from './keys/typeorm-key.store.js';
export { OAuthStoredKey, DEFAULT_KEY_TABLE } from './keys/oauth-stored-key.entity.js';
export { OAuth2KeyStoreError } from './keys/key-store-error.js';
export type { OAuth2KeyStoreErrorCode } from './keys/key-store-error.js';
export { parseKeyEncryptionKey } from './keys/key-encryption.js';
export type { KeyEncryptionKeyNames } from './keys/key-encryption.js';
export {
  planActivation,
  planRetirement,
  prunableKeys,
  STORED_KEY_ALGORITHMS,
} from './keys/key-lifecycle.js';
export type {
  OAuthKeyInfo,
  OAuth2StoredKeyAlgorithm,
  KeyTransition,
  ActivationRules,
} from './keys/key-lifecycle.js';
export { SigningKeySet } from './keys/signing-key-set.js';
export type { JsonWebKeySet } from './keys/signing-key-set.js';
export type { SigningKey } from './keys/signing-keys.js';
export type {
  OAuth2SigningOptions,
  OAuth2SigningKeyOptions,
  OAuth2KeyState,
  OAuth2HmacSigningOptions,
  OAuth2AsymmetricSigningOptions,
  OAuth2KeyInput,
} from './keys/signing-options.interface.js';

export {
  OAuthClient,
  oauthClientEntity,
  DEFAULT_CLIENT_TABLE,
  CLIENT_AUTH_METHODS,
  PRIMARY_SECRET_ID,
} from './clients/oauth-client.entity.js';
export type {
  OAuth2ClientTableOptions,
  OAuthClientAuthMethod,
  OAuthClientSecret,
  OAuthClientView,
} from './clients/oauth-client.entity.js';
export {
  OAuthStoredClientSecret,
  oauthStoredClientSecretEntity,
  DEFAULT_CLIENT_SECRET_TABLE,
} from './clients/oauth-client-secret.entity.js';
export { OAuthSubjectConflictError } from './clients/subject.js';
export { OAuthClientRepository } from './clients/oauth-client.repository.js';
export type { CachedClient } from './clients/oauth-client.repository.js';
export { TypeOrmOAuthClientRepository } from './clients/typeorm-client.repository.js';
export { InMemoryOAuthClientRepository } from './clients/in-memory-client.repository.js';
export { ClientSecretHasher, ClientSecretPolicyError } from './clients/client-secret.hasher.js';
export type {
  ClientSecretHasherOptions,
  StoredSecretKind,
} from './clients/client-secret.hasher.js';

export {
  oauth2Migrations,
  oauth2Entities,
  oauth2TableNames,
} from './migrations/oauth2-migrations.js';
export type { OAuth2MigrationsOptions, OAuth2TableNames } from './migrations/oauth2-migrations.js';
export type { OAuth2MigrationClass } from './migrations/create-client-table.migration.js';

export { ClientAuthGuard, AuthenticatedClient } from './client-auth/client-auth.guard.js';
export type { OAuth2BuiltInAuthMethod } from './client-auth/client-auth-methods.js';
export { OAuth2ReplayStore } from './client-auth/replay-store.js';
export { InMemoryOAuth2ReplayStore } from './client-auth/in-memory-replay.store.js';
export { OAuth2ThrottleStore, InMemoryOAuth2ThrottleStore } from './client-auth/throttle.store.js';
export type { OAuth2ThrottleCount } from './client-auth/throttle.store.js';
export { OAuth2ChangeFeed, InMemoryOAuth2ChangeFeed } from './state/change-feed.js';
export type {
  OAuth2Change,
  OAuth2ChangeListener,
  OAuth2RevocationRecord,
} from './state/change-feed.js';
export {
  OAuth2RevocationStore,
  InMemoryOAuth2RevocationStore,
  clientRevocation,
} from './state/revocation-store.js';
export type { OAuth2RevocationSubject } from './state/revocation-store.js';
export type { OAuth2AccessTokenCacheOptions } from './state/verified-token.cache.js';
export type { OAuth2HttpRequest } from './http/http-request.js';

export { TokenService } from './token/token.service.js';
export { OAuth2Revocations } from './token/revocations.service.js';
export type { OAuthIntrospectionResponse } from './token/introspection.service.js';
export type { OAuthTokenOptions } from './token/token.service.js';
export type { AuthorizationServerMetadata } from './token/discovery.controller.js';
export type { OAuthTokenResponse } from './token/token-response.interface.js';

export { OAuth2Guard } from './resource/oauth2.guard.js';
export { AccessTokenVerifier } from './resource/access-token.verifier.js';
export { OAuth2GuardOptions } from './resource/oauth2-guard-options.js';
export type { OAuthAccessTokenClaims } from './resource/access-token.interface.js';
export type { OAuth2Refusal } from './resource/oauth2-refusal.js';
export { Scopes } from './resource/scopes.decorator.js';
export { OAuthPrincipal } from './resource/oauth-principal.decorator.js';
export { OAuth2Public } from './resource/oauth2-public.decorator.js';

export { OAuth2ResourceServerModule } from './resource-server/oauth2-resource-server.module.js';
export { OAuth2ResourceServerConfig } from './resource-server/oauth2-resource-server-config.js';
export type {
  OAuth2ProtectedResourceMetadata,
  OAuth2IntrospectionSettings,
} from './resource-server/oauth2-resource-server-config.js';
export type {
  OAuth2ResourceServerOptions,
  OAuth2ResourceServerExtras,
  OAuth2ResourceMetadataOptions,
  OAuth2ResourceServerAlgorithm,
  OAuth2IntrospectionOptions,
} from './resource-server/oauth2-resource-server-options.interface.js';

export { OAuth2EventSink } from './observability/events.js';
export type {
  OAuth2Event,
  OAuth2EventInput,
  OAuth2EventType,
  OAuth2AuthFailureReason,
  OAuth2ClientEndpoint,
  OAuth2ChangeSource,
  OAuth2TokenIssuedEvent,
  OAuth2ClientAuthFailedEvent,
  OAuth2ClientSecretAddedEvent,
  OAuth2ClientSecretRevokedEvent,
  OAuth2ClientSecretRotatedEvent,
  OAuth2ClientChangedEvent,
  OAuth2KeyEvent,
  OAuth2TokenRevokedEvent,
  OAuth2TokenIntrospectedEvent,
} from './observability/events.js';
export { DefaultOAuth2EventSink } from './observability/default-event.sink.js';
export { OAuth2Metrics } from './observability/metrics.js';
export type {
  OAuth2TokenRequestOutcome,
  OAuth2VerificationOutcome,
  OAuth2Verifier,
  OAuth2FetchOutcome,
  OAuth2RevocationStoreOperation,
} from './observability/metrics.js';
export { OAuth2HealthIndicator } from './health/health.indicator.js';
export type {
  OAuth2HealthCheck,
  OAuth2HealthIndicatorOptions,
  OAuth2HealthIndicatorResult,
} from './health/health.indicator.js';

export type { OAuth2LogFields } from './observability/log-fields.js';

export { OAuth2Error } from './errors/oauth2-error.js';
export type { OAuth2ErrorCode, OAuth2ErrorBody, OAuth2ErrorExtras } from './errors/oauth2-error.js';
export { OAuth2ErrorRenderer } from './errors/oauth2-error.renderer.js';
export type { OAuth2ErrorSite } from './errors/oauth2-error.renderer.js';
