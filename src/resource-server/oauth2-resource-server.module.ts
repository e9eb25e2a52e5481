import { Module } from '@nestjs/common';
import { ConfigurableOAuth2ResourceServerModule } from './oauth2-resource-server.module-definition.js';

/**
 * A service that accepts the issuer's access tokens, with no database and no private key: `OAuth2Guard`,
 * `@Scopes()`, `@OAuthPrincipal()` and `@OAuth2Public()` work as with `OAuth2Module`, verifying tokens with
 * the keys the issuer publishes (its JWK Set, found through its RFC 8414 metadata unless `jwksUri` is given).
 * `forRoot` and `forRootAsync` (useFactory, useClass, useExisting) come from ConfigurableModuleBuilder; the
 * extras (`isGlobal`, `resourceMetadataPath`) sit next to the options.
 *
 * ```ts
 * OAuth2ResourceServerModule.forRoot({ issuer: 'https://auth.example.com', audience: 'https://api.example.com' })
 * ```
 */
@Module({})
export class OAuth2ResourceServerModule extends ConfigurableOAuth2ResourceServerModule {}
