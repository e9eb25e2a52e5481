import type { DynamicModule, InjectionToken, Provider } from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost, ModuleRef, ModulesContainer } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import type { Repository } from 'typeorm';
import { ClientAssertionVerifier } from './client-auth/client-assertion.verifier.js';
import { ClientAuthGuard } from './client-auth/client-auth.guard.js';
import { ClientAuthMethods } from './client-auth/client-auth-methods.js';
import { ClientAuthenticator } from './client-auth/client-authenticator.service.js';
import { ClientKeySets } from './client-auth/client-key-sets.js';
import { ClientSecretBasicStrategy } from './client-auth/client-secret-basic.strategy.js';
import {
  ClientSecretPostStrategy,
  PublicClientStrategy,
} from './client-auth/form-client.strategies.js';
import { InMemoryOAuth2ReplayStore } from './client-auth/in-memory-replay.store.js';
import { PrivateKeyJwtStrategy } from './client-auth/private-key-jwt.strategy.js';
import { OAuth2ReplayStore } from './client-auth/replay-store.js';
import { SecretVerifier } from './client-auth/secret-verifier.js';
import { ClientAuthThrottle } from './client-auth/client-auth-throttle.js';
import { InMemoryOAuth2ThrottleStore, OAuth2ThrottleStore } from './client-auth/throttle.store.js';
import { AuditingOAuthClientRepository } from './clients/auditing-client.repository.js';
import { CachingOAuthClientRepository } from './clients/caching-client.repository.js';
import { ClientSecretHasher } from './clients/client-secret.hasher.js';
import type { OAuth2ClientTableOptions, OAuthClient } from './clients/oauth-client.entity.js';
import type { OAuthStoredClientSecret } from './clients/oauth-client-secret.entity.js';
import { OAuthClientRepository } from './clients/oauth-client.repository.js';
import { TypeOrmOAuthClientRepository } from './clients/typeorm-client.repository.js';
import { OAuth2ErrorRenderer } from './errors/oauth2-error.renderer.js';
import { OAuth2HealthIndicator } from './health/health.indicator.js';
import { AuditingOAuth2KeyStore } from './keys/auditing-key.store.js';
import { OAuth2KeyRing, StaticKeyRing } from './keys/key-ring.js';
import { OAuth2KeyStore } from './keys/key-store.js';
import type { OAuthStoredKey } from './keys/oauth-stored-key.entity.js';
import { RefreshingKeyRing } from './keys/refreshing-key-ring.js';
import { TypeOrmOAuth2KeyStore } from './keys/typeorm-key.store.js';
import { oauth2Entities, oauth2TableNames } from './migrations/oauth2-migrations.js';
import { checkTypeOrmStorage, OAUTH2_STORAGE_REPORT } from './migrations/storage-check.js';
import { OAuth2Config, type OAuth2KeySource } from './oauth2-config.js';
import { createDefaultEventSink } from './observability/default-event.sink.js';
import { OAuth2EventSink } from './observability/events.js';
import { GuardedOAuth2EventSink } from './observability/guarded-event.sink.js';
import { createOAuth2Metrics, OAuth2Metrics } from './observability/metrics.js';
import { InMemoryOAuth2ChangeFeed, OAuth2ChangeFeed } from './state/change-feed.js';
import { InMemoryOAuth2RevocationStore, OAuth2RevocationStore } from './state/revocation-store.js';
import {
  OAUTH2_TYPEORM_REPOSITORIES,
  typeOrmRepositoriesModule,
  type OAuth2TypeOrmEntities,
  type OAuth2TypeOrmRepositories,
} from './storage/typeorm-repositories.js';
import {
  OAUTH2_CLIENT_STORE,
  OAUTH2_EVENT_SINK,
  OAUTH2_KEY_STORE,
  OAUTH2_MODULE_OPTIONS,
} from './oauth2.constants.js';
import { startupLogProvider } from './oauth2.startup-log.js';
import { OAuth2ChangeSync } from './redis/change-sync.js';
import { RedisOAuth2ChangeFeed } from './redis/redis-change-feed.js';
import { RedisConnection } from './redis/redis-connection.js';
import { RedisOAuth2ReplayStore } from './redis/redis-replay.store.js';
import { RedisOAuth2RevocationStore } from './redis/redis-revocation.store.js';
import { RedisOAuth2ThrottleStore } from './redis/redis-throttle.store.js';
import type {
  OAuth2RedisOptions,
  OAuth2ModuleExtras,
  OAuth2ModuleOptions,
  OAuth2ProviderOf,
} from './oauth2-options.interface.js';
import { AccessTokenVerifier } from './resource/access-token.verifier.js';
import { OAuth2Guard } from './resource/oauth2.guard.js';
import { OAuth2GuardOptions } from './resource/oauth2-guard-options.js';
import { ClientCredentialsGrant } from './token/client-credentials.grant.js';
import { endpointUrl, OAUTH2_ROUTES, type OAuth2Routes } from './token/discovery.controller.js';
import { TokenIntrospection } from './token/introspection.service.js';
import { OAuth2Revocations } from './token/revocations.service.js';
import { TokenBodyRefusalFilter } from './token/token-body-refusal.filter.js';
import { TokenExceptionFilter } from './token/token-exception.filter.js';
import { createJwtService, TokenService } from './token/token.service.js';

interface ProviderSettings extends Pick<
  OAuth2ModuleExtras,
  'clientRepository' | 'keyStore' | 'dataSource' | 'eventSink'
> {
  routes: OAuth2Routes;
  /** The configured `tableName` and `tablePrefix`. */
  tables: OAuth2ClientTableOptions;
}

/**
 * Every provider of OAuth2Module, in one list, what it exports, and what it imports: the repositories of the
 * TypeORM storage in use, when there is one (loaded only then: typeorm and @nestjs/typeorm are optional).
 * Each overridable service is its own abstract-class or class token, so `.overrideProvider(X)` replaces it in
 * a test.
 */
export function oauth2Providers({
  routes,
  clientRepository,
  keyStore,
  dataSource,
  eventSink,
  tables,
}: ProviderSettings): {
  providers: Provider[];
  exports: NonNullable<DynamicModule['exports']>;
  imports: NonNullable<DynamicModule['imports']>;
} {
  const [entity, keyEntity, secretEntity] = oauth2Entities(tables);
  const typeOrmEntities: OAuth2TypeOrmEntities = {
    ...(clientRepository === undefined ? { clients: entity, clientSecrets: secretEntity } : {}),
    ...(keyStore === true ? { signingKeys: keyEntity } : {}),
  };
  const usesTypeOrm = Object.keys(typeOrmEntities).length > 0;
  const keySource: OAuth2KeySource =
    keyStore === undefined
      ? 'signing'
      : keyStore === true
        ? 'typeorm-key-store'
        : 'custom-key-store';
  const providers: Provider[] = [
    { provide: OAUTH2_ROUTES, useValue: routes },
    {
      provide: OAuth2Config,
      useFactory: (options: OAuth2ModuleOptions) => new OAuth2Config(options, keySource),
      inject: [OAUTH2_MODULE_OPTIONS],
    },
    { provide: OAuth2GuardOptions, useExisting: OAuth2Config },
    {
      provide: OAuth2ErrorRenderer,
      useFactory: (config: OAuth2Config) => new OAuth2ErrorRenderer(config.realm),
      inject: [OAuth2Config],
    },
    usesTypeOrm
      ? {
          // Checked once before anything reads the storage (README "Migrations").
          provide: OAUTH2_STORAGE_REPORT,
          useFactory: (repositories: OAuth2TypeOrmRepositories, config: OAuth2Config) =>
            checkTypeOrmStorage({
              repositories,
              tables,
              dataSource,
              timeoutMs: config.storageTimeoutMs,
            }),
          inject: [OAUTH2_TYPEORM_REPOSITORIES, OAuth2Config],
        }
      : { provide: OAUTH2_STORAGE_REPORT, useValue: {} },
    clientRepository === undefined
      ? {
          provide: OAUTH2_CLIENT_STORE,
          useFactory: ({ clients, clientSecrets }: OAuth2TypeOrmRepositories) =>
            new TypeOrmOAuthClientRepository(
              clients as Repository<OAuthClient>,
              clientSecrets as Repository<OAuthStoredClientSecret>,
            ),
          inject: [OAUTH2_TYPEORM_REPOSITORIES],
        }
      : providerOf(OAUTH2_CLIENT_STORE, clientRepository),
    {
      provide: OAuthClientRepository,
      // The audit events and the cache wrap whatever storage is configured, in DI rather than inside the
      // repository. The cache's own writes are announced on the change feed, so other instances evict at once.
      useFactory: (
        store: OAuthClientRepository,
        { clientCache, storageTimeoutMs }: OAuth2Config,
        changes: OAuth2ChangeFeed,
        events: OAuth2EventSink,
      ) => {
        const audited = new AuditingOAuthClientRepository(store, events, 'app', {
          timeoutMs: storageTimeoutMs,
        });
        return clientCache.ttl > 0
          ? new CachingOAuthClientRepository(audited, {
              ...clientCache,
              maxWaitMs: storageTimeoutMs,
              changes,
            })
          : audited;
      },
      inject: [OAUTH2_CLIENT_STORE, OAuth2Config, OAuth2ChangeFeed, OAuth2EventSink],
    },
    {
      provide: ClientSecretHasher,
      useFactory: ({ secretPepper, previousSecretPeppers, minSecretLength }: OAuth2Config) =>
        new ClientSecretHasher({
          pepper: secretPepper,
          previousPeppers: previousSecretPeppers,
          minSecretLength,
        }),
      inject: [OAuth2Config],
    },
    {
      provide: SecretVerifier,
      useFactory: (
        hasher: ClientSecretHasher,
        { secretVerification }: OAuth2Config,
        metrics: OAuth2Metrics,
      ) => new SecretVerifier(hasher, secretVerification, metrics),
      inject: [ClientSecretHasher, OAuth2Config, OAuth2Metrics],
    },
    ...observabilityProviders(eventSink),
    ...sharedStateProviders(),
    ClientAuthThrottle,
    ClientAuthenticator,
    ClientAuthMethods,
    ClientSecretBasicStrategy,
    ClientSecretPostStrategy,
    PublicClientStrategy,
    { provide: ClientKeySets, useFactory: () => new ClientKeySets() },
    {
      provide: ClientAssertionVerifier,
      useFactory: (
        config: OAuth2Config,
        clients: OAuthClientRepository,
        keySets: ClientKeySets,
        replays: OAuth2ReplayStore,
      ) =>
        new ClientAssertionVerifier(
          {
            // RFC 7523 §3: the issuer identifier, or the token endpoint URL the metadata advertises.
            audiences: [config.issuer, endpointUrl(config.issuer, routes.tokenPath)],
            clockTolerance: config.clockTolerance,
            maxAssertionLifetime: config.maxAssertionLifetime,
            storageTimeoutMs: config.storageTimeoutMs,
          },
          clients,
          keySets,
          replays,
        ),
      inject: [OAuth2Config, OAuthClientRepository, ClientKeySets, OAuth2ReplayStore],
    },
    PrivateKeyJwtStrategy,
    ClientAuthGuard,
    { provide: JwtService, useFactory: createJwtService, inject: [OAuth2Config] },
    ...keyProviders(keyStore),
    startupLogProvider({
      keySource,
      clientTable: clientRepository === undefined ? oauth2TableNames(tables).clients : undefined,
      dataSource,
    }),
    TokenService,
    { provide: AccessTokenVerifier, useExisting: TokenService },
    ClientCredentialsGrant,
    OAuth2Revocations,
    TokenIntrospection,
    TokenExceptionFilter,
    OAuth2Guard,
    {
      provide: APP_FILTER,
      useFactory: (
        adapterHost: HttpAdapterHost,
        renderer: OAuth2ErrorRenderer,
        modules: ModulesContainer,
        metrics: OAuth2Metrics,
      ) => new TokenBodyRefusalFilter(adapterHost, renderer, servedPaths(routes), modules, metrics),
      inject: [HttpAdapterHost, OAuth2ErrorRenderer, ModulesContainer, OAuth2Metrics],
    },
  ];
  const exports: NonNullable<DynamicModule['exports']> = [
    OAuth2Config,
    OAuth2ErrorRenderer,
    OAuthClientRepository,
    ClientSecretHasher,
    OAuth2ThrottleStore,
    ClientAuthGuard,
    // What ClientAuthGuard needs, so a host module can put the guard on routes of its own.
    ClientAuthMethods,
    ClientAuthThrottle,
    SecretVerifier,
    OAuth2ReplayStore,
    OAuth2ChangeFeed,
    OAuth2RevocationStore,
    TokenService,
    OAuth2Revocations,
    OAuth2KeyRing,
    ...(keyStore === undefined ? [] : [OAuth2KeyStore]),
    AccessTokenVerifier,
    OAuth2GuardOptions,
    OAuth2Guard,
    OAuth2EventSink,
    OAuth2Metrics,
    OAuth2HealthIndicator,
  ];
  const imports = usesTypeOrm ? [typeOrmRepositoriesModule(typeOrmEntities, dataSource)] : [];
  return { providers, exports, imports };
}

/** The paths of the POST endpoints the module serves, the token endpoint's first. */
function servedPaths({ tokenPath, revocationPath, introspectionPath }: OAuth2Routes): string[] {
  return [tokenPath, revocationPath, introspectionPath].filter((path) => path !== undefined);
}

/** Audit events, metrics and health: each its own token, so a test or the host app can replace it. */
function observabilityProviders(eventSink: OAuth2ModuleExtras['eventSink']): Provider[] {
  return [
    eventSink === undefined
      ? { provide: OAUTH2_EVENT_SINK, useFactory: createDefaultEventSink, inject: [ModuleRef] }
      : providerOf(OAUTH2_EVENT_SINK, eventSink),
    {
      provide: OAuth2EventSink,
      useFactory: (sink: OAuth2EventSink) => new GuardedOAuth2EventSink(sink),
      inject: [OAUTH2_EVENT_SINK],
    },
    { provide: OAuth2Metrics, useFactory: createOAuth2Metrics },
    {
      provide: OAuth2HealthIndicator,
      // The storage itself, not the cache in front of it; the key store only when the keys come from one.
      useFactory: (
        clients: OAuthClientRepository,
        keyRing: OAuth2KeyRing,
        keyStore: OAuth2KeyStore | undefined,
        redis: RedisConnection | null,
        { storageTimeoutMs, store }: OAuth2Config,
      ) =>
        new OAuth2HealthIndicator({
          clients,
          keyRing,
          keyStore,
          redis: redis && store ? { connection: redis, url: store.redis.url } : undefined,
          timeoutMs: storageTimeoutMs,
        }),
      inject: [
        OAUTH2_CLIENT_STORE,
        OAuth2KeyRing,
        { token: OAuth2KeyStore, optional: true },
        RedisConnection,
        OAuth2Config,
      ],
    },
  ];
}

/**
 * The state instances share: in memory, or on Redis with `store.redis` (ioredis is loaded only then). Each is
 * its own token, so `.overrideProvider()` still replaces one; the change sync applies the feed to the caches.
 */
function sharedStateProviders(): Provider[] {
  const inject = [RedisConnection];
  return [
    {
      provide: RedisConnection,
      // Boots even when Redis is away (each store then runs on its fallback), after waiting 2 s for it.
      useFactory: ({ store }: OAuth2Config) =>
        store
          ? RedisConnection.open(store.redis as Required<OAuth2RedisOptions>, { waitMs: 2000 })
          : null,
      inject: [OAuth2Config],
    },
    {
      provide: OAuth2ThrottleStore,
      useFactory: (redis: RedisConnection | null) =>
        redis ? new RedisOAuth2ThrottleStore(redis) : new InMemoryOAuth2ThrottleStore(),
      inject,
    },
    {
      provide: OAuth2ReplayStore,
      useFactory: (redis: RedisConnection | null) =>
        redis ? new RedisOAuth2ReplayStore(redis) : new InMemoryOAuth2ReplayStore(),
      inject,
    },
    {
      provide: OAuth2ChangeFeed,
      useFactory: (redis: RedisConnection | null) =>
        redis ? new RedisOAuth2ChangeFeed(redis) : new InMemoryOAuth2ChangeFeed(),
      inject,
    },
    {
      provide: OAuth2RevocationStore,
      useFactory: (
        redis: RedisConnection | null,
        feed: OAuth2ChangeFeed,
        metrics: OAuth2Metrics,
      ) =>
        redis
          ? new RedisOAuth2RevocationStore(redis, feed, { metrics })
          : new InMemoryOAuth2RevocationStore(),
      inject: [RedisConnection, OAuth2ChangeFeed, OAuth2Metrics],
    },
    {
      provide: OAuth2ChangeSync,
      useFactory: (
        feed: OAuth2ChangeFeed,
        clients: OAuthClientRepository,
        keyRing: OAuth2KeyRing,
      ) => new OAuth2ChangeSync(feed, clients, keyRing),
      inject: [OAuth2ChangeFeed, OAuthClientRepository, OAuth2KeyRing],
    },
  ];
}

/** The key ring: the `signing` keys, or a key store's reloaded every `keyRefreshInterval`. */
function keyProviders(keyStore: OAuth2ModuleExtras['keyStore']): Provider[] {
  if (keyStore === undefined) {
    return [
      {
        provide: OAuth2KeyRing,
        useFactory: (config: OAuth2Config) => new StaticKeyRing(config.keys!),
        inject: [OAuth2Config],
      },
    ];
  }
  return [
    keyStore === true
      ? {
          provide: OAUTH2_KEY_STORE,
          useFactory: ({ signingKeys }: OAuth2TypeOrmRepositories, config: OAuth2Config) =>
            new TypeOrmOAuth2KeyStore(signingKeys as Repository<OAuthStoredKey>, {
              keyEncryptionKey: config.keyEncryptionKey!,
              previousKeyEncryptionKeys: config.previousKeyEncryptionKeys,
            }),
          inject: [OAUTH2_TYPEORM_REPOSITORIES, OAuth2Config],
        }
      : providerOf(OAUTH2_KEY_STORE, keyStore),
    {
      provide: OAuth2KeyStore,
      // The audit events wrap whatever key store is configured (the ring's reloads only read through it).
      useFactory: (store: OAuth2KeyStore, events: OAuth2EventSink, config: OAuth2Config) =>
        new AuditingOAuth2KeyStore(store, events, 'app', { timeoutMs: config.storageTimeoutMs }),
      inject: [OAUTH2_KEY_STORE, OAuth2EventSink, OAuth2Config],
    },
    {
      provide: OAuth2KeyRing,
      // Nest calls its onModuleInit (the first load) and onModuleDestroy (the timer stops).
      useFactory: (store: OAuth2KeyStore, config: OAuth2Config) =>
        new RefreshingKeyRing(store, { refreshInterval: config.keyRefreshInterval }),
      inject: [OAuth2KeyStore, OAuth2Config],
    },
  ];
}

/** A service given as a class or a provider without `provide`, under `token`. */
function providerOf<T>(token: InjectionToken, given: OAuth2ProviderOf<T>): Provider {
  if (typeof given === 'function') return { provide: token, useClass: given };
  return { provide: token, ...given } as Provider;
}
