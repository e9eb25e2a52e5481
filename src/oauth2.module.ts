import { Inject, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { getRepositoryToken, TypeOrmModule } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { ClientAuthGuard } from './client-auth/client-auth.guard.js';
import { ClientAuthenticator } from './client-auth/client-authenticator.service.js';
import { ClientBasicStrategy } from './client-auth/client-basic.strategy.js';
import { ClientBodyStrategy } from './client-auth/client-body.strategy.js';
import { ClientSecretHasher } from './clients/client-secret.hasher.js';
import {
  DEFAULT_CLIENT_TABLE,
  oauthClientEntity,
  type OAuthClient,
} from './clients/oauth-client.entity.js';
import { OAuthClientRepository } from './clients/oauth-client.repository.js';
import { TypeOrmOAuthClientRepository } from './clients/typeorm-client.repository.js';
import { CachingOAuthClientRepository } from './clients/caching-client.repository.js';
import { SecretVerifier } from './client-auth/secret-verifier.js';
import { OAuth2ExceptionFilter } from './errors/oauth2-exception.filter.js';
import { OAuth2Config } from './oauth2-config.js';
import {
  DEFAULT_TOKEN_PATH,
  OAUTH2_CLIENT_STORE,
  OAUTH2_MODULE_OPTIONS,
  OAUTH2_TOKEN_PATH,
} from './oauth2.constants.js';
import {
  ConfigurableOAuth2Module,
  OAUTH2_ASYNC_OPTIONS_TYPE,
  OAUTH2_OPTIONS_TYPE,
} from './oauth2.module-definition.js';
import type { OAuth2ModuleExtras, OAuth2ModuleOptions } from './oauth2-options.interface.js';
import { OAuth2Guard } from './resource/oauth2.guard.js';
import { TokenRequestGuard } from './token/token-request.guard.js';
import { createTokenController } from './token/token.controller.js';
import { createJwtService, TokenService } from './token/token.service.js';

/** Injects the options given to forRoot/forRootAsync. */
export const InjectOAuth2Options = (): ParameterDecorator & PropertyDecorator =>
  Inject(OAUTH2_MODULE_OPTIONS);

/**
 * The OAuth 2.0 client credentials authorization server: the token endpoint, the Passport client
 * authentication strategies, client storage, the token service and the RFC 6750 bearer guard.
 *
 * ```ts
 * OAuth2Module.forRoot({ issuer: 'https://auth.example.com', signing: { algorithm: 'ES256', privateKey } })
 * ```
 */
@Module({})
export class OAuth2Module extends ConfigurableOAuth2Module {
  static override forRoot(options: typeof OAUTH2_OPTIONS_TYPE): DynamicModule {
    return withParts(super.forRoot(options), options);
  }

  static override forRootAsync(options: typeof OAUTH2_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withParts(super.forRootAsync(options), options);
  }
}

function withParts(definition: DynamicModule, extras: OAuth2ModuleExtras): DynamicModule {
  const entity = oauthClientEntity(
    (extras.tablePrefix ?? '') + (extras.tableName ?? DEFAULT_CLIENT_TABLE),
  );
  const usesTypeOrm = extras.clientRepository === undefined;
  const tokenPath = extras.tokenPath ?? DEFAULT_TOKEN_PATH;
  return {
    ...definition,
    global: extras.isGlobal ?? false,
    imports: [
      ...(definition.imports ?? []),
      ...(usesTypeOrm ? [TypeOrmModule.forFeature([entity], extras.dataSource)] : []),
    ],
    controllers: [createTokenController(tokenPath)],
    providers: [
      ...(definition.providers ?? []),
      { provide: OAUTH2_TOKEN_PATH, useValue: tokenPath },
      {
        provide: OAuth2Config,
        useFactory: (options: OAuth2ModuleOptions) => new OAuth2Config(options),
        inject: [OAUTH2_MODULE_OPTIONS],
      },
      { provide: JwtService, useFactory: createJwtService, inject: [OAuth2Config] },
      clientStoreProvider(extras, entity),
      {
        provide: OAuthClientRepository,
        useFactory: (store: OAuthClientRepository, config: OAuth2Config) =>
          config.clientCache.ttl > 0
            ? new CachingOAuthClientRepository(store, {
                ...config.clientCache,
                maxWait: config.storageTimeout,
              })
            : store,
        inject: [OAUTH2_CLIENT_STORE, OAuth2Config],
      },
      {
        provide: SecretVerifier,
        useFactory: (hasher: ClientSecretHasher, { secretVerification: options }: OAuth2Config) =>
          new SecretVerifier(hasher, {
            cacheTtl: options.cacheTtl,
            cacheSize: options.cacheMax,
            maxConcurrentKdf: options.maxConcurrentKdf,
            maxQueuedKdf: options.maxQueuedKdf,
          }),
        inject: [ClientSecretHasher, OAuth2Config],
      },
      {
        provide: ClientSecretHasher,
        useFactory: (options: OAuth2ModuleOptions) =>
          new ClientSecretHasher({
            pepper: options.secretPepper,
            previousPeppers: options.previousSecretPeppers,
          }),
        inject: [OAUTH2_MODULE_OPTIONS],
      },
      ClientAuthenticator,
      ClientBasicStrategy,
      ClientBodyStrategy,
      ClientAuthGuard,
      TokenRequestGuard,
      TokenService,
      OAuth2Guard,
      { provide: APP_FILTER, useClass: OAuth2ExceptionFilter },
    ],
    exports: [
      ...(definition.exports ?? []),
      OAuth2Config,
      OAuthClientRepository,
      ClientSecretHasher,
      TokenService,
      OAuth2Guard,
    ],
  };
}

function clientStoreProvider(
  { clientRepository, dataSource }: OAuth2ModuleExtras,
  entity: typeof OAuthClient,
): Provider {
  if (clientRepository === undefined) {
    return {
      provide: OAUTH2_CLIENT_STORE,
      useFactory: (repository: Repository<OAuthClient>) =>
        new TypeOrmOAuthClientRepository(repository),
      inject: [getRepositoryToken(entity, dataSource)],
    };
  }
  if (typeof clientRepository === 'function') {
    return { provide: OAUTH2_CLIENT_STORE, useClass: clientRepository };
  }
  return { provide: OAUTH2_CLIENT_STORE, ...clientRepository } as Provider;
}
