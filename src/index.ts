export { OAuth2Module, InjectOAuth2Options } from './oauth2.module.js';
export {
  OAUTH2_MODULE_OPTIONS,
  OAUTH2_CLIENT_BASIC_STRATEGY,
  OAUTH2_CLIENT_BODY_STRATEGY,
} from './oauth2.constants.js';
export type {
  OAuth2ModuleOptions,
  OAuth2ModuleExtras,
  OAuth2SigningOptions,
  OAuth2HmacSigningOptions,
  OAuth2AsymmetricSigningOptions,
  OAuth2KeyInput,
  OAuth2CustomClaims,
  OAuth2ClaimsContext,
  OAuth2ClientRepositoryProvider,
} from './oauth2-options.interface.js';

export {
  OAuthClient,
  oauthClientEntity,
  DEFAULT_CLIENT_TABLE,
} from './clients/oauth-client.entity.js';
export { OAuthClientRepository } from './clients/oauth-client.repository.js';
export { TypeOrmOAuthClientRepository } from './clients/typeorm-client.repository.js';
export { InMemoryOAuthClientRepository } from './clients/in-memory-client.repository.js';
export { ClientSecretHasher } from './clients/client-secret.hasher.js';
export type {
  ClientSecretHasherOptions,
  StoredSecretKind,
} from './clients/client-secret.hasher.js';

export { oauth2Migrations } from './migrations/oauth2-migrations.js';
export type { OAuth2MigrationsOptions } from './migrations/oauth2-migrations.js';
export type { OAuth2MigrationClass } from './migrations/create-client-table.migration.js';

export { TokenService } from './token/token.service.js';
export type { OAuthAccessTokenClaims, OAuthTokenResponse } from './token/access-token.interface.js';

export { OAuth2Guard } from './resource/oauth2.guard.js';
export { Scopes } from './resource/scopes.decorator.js';
export { OAuthPrincipal } from './resource/oauth-principal.decorator.js';
export { OAuth2Public } from './resource/oauth2-public.decorator.js';

export { OAuth2Error } from './errors/oauth2-error.js';
export type { OAuth2ErrorCode, OAuth2ErrorBody } from './errors/oauth2-error.js';
export { OAuth2ExceptionFilter } from './errors/oauth2-exception.filter.js';
