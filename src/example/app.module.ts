import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { getDataSourceToken, TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource, DriverPackageNotInstalledError, type Logger as TypeOrmLogger } from 'typeorm';
import {
  oauth2Entities,
  OAuth2Module,
  TypeOrmOAuth2KeyStore,
  type OAuth2KeyStore,
  type OAuth2KeyStoreProvider,
  type OAuth2ModuleOptions,
  type OAuth2StoredKeyAlgorithm,
} from '../index.js';
import { databaseOptionsFromUrl } from '../cli/database-url.js';
import { KEK_VARIABLES } from '../cli/env-settings.js';
import { DemoClientSeeder } from './demo-client.seeder.js';
import { MigrationLog } from './migration-log.js';
import { loadOrCreateDevKeyEncryptionKey } from './dev-key-encryption-key.js';
import { ExampleConfig, type ExampleKeyStoreSettings } from './example-config.js';
import { ReportsController } from './reports.controller.js';
import { ReportsService } from './reports.service.js';
import { WhoamiController } from './whoami.controller.js';

/** Provides the ExampleConfig read from the environment to the module factories. */
@Module({})
class ExampleConfigModule {
  static with(config: ExampleConfig): DynamicModule {
    return {
      module: ExampleConfigModule,
      // One migration log per app: it tells the demo client seeder whether this start created the database.
      providers: [
        { provide: ExampleConfig, useValue: config },
        { provide: MigrationLog, useValue: new MigrationLog() },
      ],
      exports: [ExampleConfig, MigrationLog],
    };
  }
}

export function createTypeOrmOptions(
  config: ExampleConfig,
  migrationLog: TypeOrmLogger = new MigrationLog(),
): TypeOrmModuleOptions {
  const options = databaseOptionsFromUrl(config.databaseUrl, config.cwd, {
    tableName: config.tableName,
    tablePrefix: config.tablePrefix,
  });
  // Retrying helps a database server that is still starting; a SQLite file either opens or does not.
  const retryAttempts = options.type === 'better-sqlite3' ? 0 : 5;
  return {
    ...options,
    // The client table comes from the module's migrations, applied (when pending) before the app serves.
    migrationsRun: true,
    logger: migrationLog,
    retryAttempts,
    retryDelay: 2000,
    // A missing driver package stays missing.
    toRetry: (error: unknown) => !(error instanceof DriverPackageNotInstalledError),
  };
}

export function createOAuth2Options(config: ExampleConfig): OAuth2ModuleOptions {
  const { signing } = config;
  return {
    issuer: config.issuer,
    ...('keyStore' in signing
      ? { keyRefreshInterval: config.keyRefreshInterval }
      : { signing: { ...signing } }),
    audience: config.audience,
    accessTokenLifetime: config.accessTokenLifetime,
    maxAccessTokenLifetime: config.maxAccessTokenLifetime,
    jwksMaxAge: config.jwksMaxAge,
    allowCredentialsInRequestBody: config.allowCredentialsInRequestBody,
    allowPublicClients: config.allowPublicClients,
    legacyPlaintextSecrets: config.legacyPlaintextSecrets,
    secretPepper: config.secretPepper,
    ...(config.redis === undefined ? {} : { store: { redis: config.redis } }),
  };
}

/**
 * The signing keys in the app's database: the TypeORM key store, its keys sealed with
 * OAUTH2_KEY_ENCRYPTION_KEY (else a development key in ./data). On a first start, with no key at all, it
 * generates one and makes it active, so `npm start` serves tokens at once; a store with keys but none active
 * is left for the module to refuse, and a store it cannot open is never written to.
 */
export function exampleKeyStore(
  config: ExampleConfig,
  algorithm: OAuth2StoredKeyAlgorithm,
  settings: ExampleKeyStoreSettings,
): OAuth2KeyStoreProvider {
  return {
    inject: [getDataSourceToken()],
    useFactory: async (dataSource: DataSource): Promise<OAuth2KeyStore> => {
      const logger = new Logger('ExampleSigningKey');
      const kek =
        settings.keyEncryptionKey === undefined
          ? loadOrCreateDevKeyEncryptionKey(settings.devKeyEncryptionKeyFile, logger)
          : { key: settings.keyEncryptionKey, name: KEK_VARIABLES.current };
      const [, keyEntity] = oauth2Entities(config);
      const store = new TypeOrmOAuth2KeyStore(dataSource.getRepository(keyEntity), {
        keyEncryptionKey: kek.key,
        previousKeyEncryptionKeys: settings.previousKeyEncryptionKeys,
        keyEncryptionKeyNames: { current: kek.name, previous: KEK_VARIABLES.previous },
      });
      if ((await store.list()).length === 0) {
        try {
          const key = await store.generate(algorithm, { activate: true });
          logger.warn(
            `The key store held no signing key: generated and activated the ${algorithm} key ${key.kid}; ` +
              'rotate it with `nest-oauth2 keys generate`, `keys activate`, `keys prune`',
            { event: 'example.signing_key.generated', kid: key.kid, algorithm },
          );
        } catch (error) {
          // Another instance starting at the same time may have made the first key: then use it.
          if (!(await store.list()).some((key) => key.state === 'active')) throw error;
        }
      }
      return store;
    },
  };
}

/**
 * The example resource server and authorization server in one app: the token endpoint at /oauth2/token,
 * revocation at /oauth2/revoke and introspection at /oauth2/introspect, the clients in the database
 * DATABASE_URL names, and /api routes guarded by access tokens.
 */
@Module({})
export class AppModule {
  static forConfig(config: ExampleConfig): DynamicModule {
    const configModule = ExampleConfigModule.with(config);
    return {
      module: AppModule,
      imports: [
        configModule,
        TypeOrmModule.forRootAsync({
          imports: [configModule],
          inject: [ExampleConfig, MigrationLog],
          useFactory: createTypeOrmOptions,
        }),
        OAuth2Module.forRootAsync({
          tableName: config.tableName,
          tablePrefix: config.tablePrefix,
          revocationPath: 'oauth2/revoke',
          introspectionPath: 'oauth2/introspect',
          ...('keyStore' in config.signing
            ? {
                keyStore: exampleKeyStore(
                  config,
                  config.signing.algorithm,
                  config.signing.keyStore,
                ),
              }
            : {}),
          imports: [configModule],
          inject: [ExampleConfig],
          useFactory: createOAuth2Options,
        }),
      ],
      controllers: [WhoamiController, ReportsController],
      providers: [ReportsService, DemoClientSeeder],
    };
  }
}
