import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DriverPackageNotInstalledError } from 'typeorm';
import { OAuth2Module, type OAuth2ModuleOptions, type OAuth2SigningOptions } from '../index.js';
import { databaseOptionsFromUrl } from '../cli/database-url.js';
import { DemoClientSeeder } from './demo-client.seeder.js';
import { loadOrCreateDevSigningKey } from './dev-signing-key.js';
import { ExampleConfig } from './example-config.js';
import { ReportsController } from './reports.controller.js';
import { ReportsService } from './reports.service.js';
import { WhoamiController } from './whoami.controller.js';

/** Provides the ExampleConfig read from the environment to the module factories. */
@Module({})
class ExampleConfigModule {
  static with(config: ExampleConfig): DynamicModule {
    return {
      module: ExampleConfigModule,
      providers: [{ provide: ExampleConfig, useValue: config }],
      exports: [ExampleConfig],
    };
  }
}

export function createTypeOrmOptions(config: ExampleConfig): TypeOrmModuleOptions {
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
    retryAttempts,
    retryDelay: 2000,
    // A missing driver package stays missing.
    toRetry: (error: unknown) => !(error instanceof DriverPackageNotInstalledError),
  };
}

export function createOAuth2Options(config: ExampleConfig): OAuth2ModuleOptions {
  return {
    issuer: config.issuer,
    signing: signingOptions(config),
    accessTokenLifetime: config.accessTokenLifetime,
    allowCredentialsInRequestBody: config.allowCredentialsInRequestBody,
    allowPublicClients: config.allowPublicClients,
    legacyPlaintextSecrets: config.legacyPlaintextSecrets,
    secretPepper: config.secretPepper,
  };
}

function signingOptions({ signing }: ExampleConfig): OAuth2SigningOptions {
  if ('secret' in signing) return signing;
  if ('privateKey' in signing) return signing;
  const logger = new Logger('SigningKey');
  return {
    algorithm: signing.algorithm,
    privateKey: loadOrCreateDevSigningKey(signing.algorithm, signing.devKeyFile, logger),
  };
}

/**
 * The example resource server and authorization server in one app: the token endpoint at /oauth2/token, the
 * clients in the database DATABASE_URL names, and /api routes guarded by access tokens.
 */
@Module({})
export class AppModule {
  static forConfig(config: ExampleConfig): DynamicModule {
    const configModule = ExampleConfigModule.with(config);
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRootAsync({
          imports: [configModule],
          inject: [ExampleConfig],
          useFactory: createTypeOrmOptions,
        }),
        OAuth2Module.forRootAsync({
          tableName: config.tableName,
          tablePrefix: config.tablePrefix,
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
