import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { DataSource, type DataSourceOptions } from 'typeorm';
import {
  oauth2Entities,
  oauth2Migrations,
  OAuth2Module,
  OAuthStoredKey,
  TypeOrmOAuth2KeyStore,
  type OAuth2ModuleOptions,
} from '../../src/index.js';
import { sqliteDatabase } from './databases.js';
import { typeOrmRoot, testOptions } from './fixtures.js';
import { rawTable } from './legacy.js';
import { resourceControllers } from './resource.controller.js';

/** Two key encryption keys, as the environment would hold them. */
export const KEK = randomBytes(32).toString('hex');
export const OTHER_KEK = randomBytes(32).toString('base64');

/** Another connection to the test's database, migrated: what the CLI or another instance would see. */
export async function openAdmin(options: DataSourceOptions): Promise<DataSource> {
  const dataSource = new DataSource({
    ...options,
    entities: oauth2Entities(),
    migrations: oauth2Migrations(),
  } as DataSourceOptions);
  await dataSource.initialize();
  await dataSource.runMigrations();
  return dataSource;
}

export const storeOf = (dataSource: DataSource, keyEncryptionKey = KEK): TypeOrmOAuth2KeyStore =>
  new TypeOrmOAuth2KeyStore(dataSource.getRepository(OAuthStoredKey), { keyEncryptionKey });

/** The key table's rows as stored, read with plain SQL: what a failed start must leave as it is. */
export async function keyRows(dataSource: DataSource): Promise<Record<string, unknown>[]> {
  const table = rawTable(dataSource.options, 'oauth_signing_keys');
  return dataSource.query(`SELECT * FROM ${table} ORDER BY kid`);
}

/** An app whose keys come from the TypeORM key store of `database`, reloaded every second. */
export function keyStoreApp(
  database: DataSourceOptions,
  options: Partial<OAuth2ModuleOptions> = {},
): ModuleMetadata {
  return {
    imports: [
      typeOrmRoot(database),
      OAuth2Module.forRoot({
        ...testOptions({
          signing: undefined,
          keyEncryptionKey: KEK,
          keyRefreshInterval: 1,
          jwksMaxAge: 0,
          ...options,
        }),
        keyStore: true,
      }),
    ],
    controllers: resourceControllers,
  };
}

/** Builds the app and expects its start to fail; closes what did start. The error's message. */
export async function failedStart(
  metadata: ModuleMetadata,
  logger: LoggerService,
): Promise<string> {
  const moduleRef = await Test.createTestingModule(metadata).setLogger(logger).compile();
  const app: INestApplication = moduleRef.createNestApplication({ logger });
  try {
    await app.init();
  } catch (error) {
    return (error as Error).message;
  } finally {
    await app.close();
  }
  throw new Error('the app started');
}

/**
 * Runs `check` until it passes or `timeoutMs` has passed, then once more letting its failure through: for a
 * change that shows within a refresh interval, without asserting how long it took.
 */
export async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await check();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await check();
}

/**
 * A SQLite file that the app and the test both open, migrated, whose key store holds one active ES256 key;
 * `admin` is the test's own connection. `drop()` closes it and removes the file.
 */
export async function sqliteWithActiveKey(): Promise<{
  options: DataSourceOptions;
  admin: DataSource;
  drop(): Promise<void>;
}> {
  const isolated = await sqliteDatabase.create({ shared: true });
  const admin = await openAdmin(isolated.options);
  await storeOf(admin).generate('ES256', { activate: true });
  return {
    options: isolated.options,
    admin,
    drop: async () => {
      await admin.destroy();
      await isolated.drop();
    },
  };
}
