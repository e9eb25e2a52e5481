import type { Provider } from '@nestjs/common';
import { ClientAuthMethods } from './client-auth/client-auth-methods.js';
import type { OAuthClientRepository } from './clients/oauth-client.repository.js';
import { OAuth2KeyRing } from './keys/key-ring.js';
import type { OAuth2KeyStore } from './keys/key-store.js';
import type { SigningKeySet } from './keys/signing-key-set.js';
import { OAuth2Config, type OAuth2KeySource } from './oauth2-config.js';
import {
  OAUTH2_STORAGE_REPORT,
  type OAuth2MigrationState,
  type OAuth2StorageReport,
} from './migrations/storage-check.js';
import { OAUTH2_CLIENT_STORE, OAUTH2_KEY_STORE } from './oauth2.constants.js';
import type { OAuth2LogFields } from './observability/log-fields.js';
import {
  loggableUrl,
  OAuth2StartupLog,
  type OAuth2StartupLine,
} from './observability/startup-log.js';
import {
  OAUTH2_TYPEORM_REPOSITORIES,
  type OAuth2TypeOrmRepositories,
} from './storage/typeorm-repositories.js';
import { OAUTH2_ROUTES, type OAuth2Routes } from './token/discovery.controller.js';

/** Where the clients are kept, as the start-up line names it. */
export type OAuth2ClientStorageDescription =
  | {
      type: 'typeorm';
      /** The client table's name, prefix included. */
      table: string;
      /** The DataSource's driver (`postgres`, `mysql`, `better-sqlite3`, …). */
      driver: string;
      /** The DataSource's name; undefined: the default one. */
      dataSource: string | undefined;
    }
  | {
      type: 'custom';
      /** The class name of the `clientRepository` given. */
      repository: string;
    };

export interface OAuth2ConfigurationFacts {
  config: OAuth2Config;
  routes: OAuth2Routes;
  keySource: OAuth2KeySource;
  /** The key store's class name, with a key store. */
  keyStore?: string;
  /** The keys in force when the app has bootstrapped. */
  keys: SigningKeySet;
  /** The enabled client authentication methods (RFC 8414 `token_endpoint_auth_methods_supported`). */
  authMethods: readonly string[];
  storage: OAuth2ClientStorageDescription;
  /**
   * With TypeORM storage (clients or keys), the module's migrations TypeORM recorded as applied and those
   * pending; null: they could not be read at start-up.
   */
  migrations?: OAuth2MigrationState | null;
}

const KEY_SOURCES: Record<OAuth2KeySource, string> = {
  signing: 'the signing option',
  'typeorm-key-store': 'the TypeORM key store',
  'custom-key-store': 'a custom key store',
};

/**
 * OAuth2Module's start-up line (event `oauth2.startup.configured`): issuer, endpoints, signing algorithms and
 * key ids, client storage, shared state, client authentication methods, throttling, client cache. Names and
 * settings only: never a secret, pepper, key encryption key, private key or HMAC secret; a Redis URL without
 * its user and password.
 */
export function describeConfiguration({
  config,
  routes,
  keySource,
  keyStore,
  keys,
  authMethods,
  storage,
  migrations,
}: OAuth2ConfigurationFacts): OAuth2StartupLine {
  const path = (route: string | undefined) =>
    route === undefined ? null : `/${route.replace(/^\/+/, '')}`;
  const algorithms = [...new Set(keys.keys.map((key) => key.algorithm))];
  const kids = keys.keys.flatMap((key) => (key.kid === undefined ? [] : [key.kid]));
  const redis = config.store?.redis;
  const fields = {
    event: 'oauth2.startup.configured',
    issuer: config.issuer,
    audience: config.audience,
    tokenPath: path(routes.tokenPath),
    jwksPath: path(routes.jwksPath),
    revocationPath: path(routes.revocationPath),
    introspectionPath: path(routes.introspectionPath),
    keySource,
    ...(keyStore === undefined ? {} : { keyStore }),
    algorithms,
    kids,
    activeKid: keys.active.kid ?? null,
    clientStorage: storage.type,
    ...(storage.type === 'typeorm'
      ? {
          clientTable: storage.table,
          databaseDriver: storage.driver,
          dataSource: storage.dataSource ?? 'default',
        }
      : { clientRepository: storage.repository }),
    ...(migrations === undefined
      ? {}
      : {
          migrationsApplied: migrations?.applied ?? null,
          migrationsPending: migrations?.pending ?? null,
        }),
    store: redis ? 'redis' : 'memory',
    ...(redis ? { redis: loggableUrl(redis.url), redisKeyPrefix: redis.keyPrefix ?? null } : {}),
    clientAuthMethods: authMethods,
    throttling: config.clientAuthThrottle !== false,
    clientCacheTtl: config.clientCache.ttl,
    accessTokenLifetime: config.accessTokenLifetime,
  } satisfies OAuth2LogFields;

  const endpoints = [
    `token ${fields.tokenPath}`,
    `JWKS ${fields.jwksPath}`,
    `revocation ${fields.revocationPath ?? 'off'}`,
    `introspection ${fields.introspectionPath ?? 'off'}`,
  ].join(', ');
  const signing =
    `signs with ${algorithms.join('/')}` +
    (fields.activeKid === null ? '' : ` (active kid ${fields.activeKid})`) +
    `, ${keys.keys.length} key(s) from ${KEY_SOURCES[keySource]}` +
    (keyStore === undefined || keySource === 'typeorm-key-store' ? '' : ` (${keyStore})`);
  const clients =
    storage.type === 'typeorm'
      ? `clients in the ${storage.driver} table ${storage.table}`
      : `clients in ${storage.repository}`;
  const state = redis ? `shared state on Redis at ${fields.redis}` : 'state in memory';
  const schema =
    migrations === undefined
      ? ''
      : migrations === null
        ? "; the module's migrations could not be read"
        : `; the module's migrations: ${migrations.applied.length} applied, ` +
          (migrations.pending.length === 0
            ? 'none pending'
            : `${migrations.pending.length} pending (${migrations.pending.join(', ')})`);
  return {
    message:
      `Authorization server ${config.issuer}: ${endpoints}; ${signing}; ${clients}; ${state}` +
      schema,
    fields,
  };
}

/**
 * The provider of OAuth2Module's start-up line. The clients' storage is described by the configured table and
 * the DataSource's driver (read from its options, so a DataSource not yet initialized is described too), or
 * by the class name of the `clientRepository` given; a key store by its class. The start-up check of the
 * TypeORM storage tells the migrations.
 */
export function startupLogProvider({
  keySource,
  clientTable,
  dataSource,
}: {
  keySource: OAuth2KeySource;
  /** The client table's full name with the TypeORM client storage; undefined with a `clientRepository`. */
  clientTable: string | undefined;
  dataSource: string | undefined;
}): Provider {
  const storageOf = (
    store: OAuthClientRepository,
    repositories: OAuth2TypeOrmRepositories | undefined,
  ): OAuth2ClientStorageDescription =>
    clientTable === undefined || repositories?.clients === undefined
      ? { type: 'custom', repository: store.constructor.name }
      : {
          type: 'typeorm',
          table: clientTable,
          driver: String(repositories.clients.manager.connection.options.type),
          dataSource,
        };
  return {
    provide: OAuth2StartupLog,
    useFactory: (
      store: OAuthClientRepository,
      repositories: OAuth2TypeOrmRepositories | undefined,
      report: OAuth2StorageReport,
      config: OAuth2Config,
      routes: OAuth2Routes,
      keyRing: OAuth2KeyRing,
      methods: ClientAuthMethods,
      keyStore?: OAuth2KeyStore,
    ) =>
      new OAuth2StartupLog(() =>
        describeConfiguration({
          config,
          routes,
          keySource,
          keyStore: keyStore?.constructor.name,
          keys: keyRing.current,
          authMethods: methods.supported,
          storage: storageOf(store, repositories),
          migrations: repositories === undefined ? undefined : (report.migrations ?? null),
        }),
      ),
    inject: [
      OAUTH2_CLIENT_STORE,
      { token: OAUTH2_TYPEORM_REPOSITORIES, optional: true },
      OAUTH2_STORAGE_REPORT,
      OAuth2Config,
      OAUTH2_ROUTES,
      OAuth2KeyRing,
      ClientAuthMethods,
      // The configured key store itself, not the audit wrapper around it.
      ...(keySource === 'signing' ? [] : [OAUTH2_KEY_STORE]),
    ],
  };
}
