import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import {
  DataSource,
  MigrationExecutor,
  Table,
  type DataSourceOptions,
  type Migration,
  type QueryRunner,
} from 'typeorm';
import {
  InMemoryOAuthClientRepository,
  oauth2Entities,
  oauth2Migrations,
  OAuth2Module,
  type OAuth2ModuleExtras,
  type OAuth2ModuleOptions,
} from '../src/index.js';
import { seedClients, startApp } from './support/app.js';
import { databases, type IsolatedDatabase, type TestDatabase } from './support/databases.js';
import { testOptions } from './support/fixtures.js';
import { eventually, KEK } from './support/key-store.js';
import { CapturingLogger, type LogLine } from './support/logger.js';
import { CLIENTS, expectTokenError, GRANT, TEST_BASIC, tokenRequest } from './support/oauth.js';
import { TcpProxy } from './support/tcp-proxy.js';

/**
 * Issue 13: a misconfigured TypeORM storage is told at start-up, with what to do, instead of a 503 on every
 * token request whose log names only EntityMetadataNotFoundError or QueryFailedError. On SQLite, and on
 * PostgreSQL and MariaDB/MySQL when OAUTH2_TEST_POSTGRES_URL / OAUTH2_TEST_MYSQL_URL are set.
 */

const MIGRATIONS = oauth2Migrations().map((migration) => new migration().name);
const ADVICE =
  "run `npx nest-oauth2 migrate`, or add `oauth2Migrations()` to the DataSource's `migrations` with " +
  '`migrationsRun: true`';

/** The module's entities and migrations, as a DataSource lists them. */
const MODULE_SCHEMA = { entities: oauth2Entities(), migrations: oauth2Migrations() };

/** testclient's token request. */
const askToken = (app: INestApplication) =>
  tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT);

/** The storage is down or unmigrated: the token endpoint says so with a 503. */
async function expectUnavailable(app: INestApplication): Promise<void> {
  expectTokenError(await askToken(app), 503, 'server_error');
}

/** testclient stored, then a token for it: the storage works. */
async function expectTokenIssued(app: INestApplication): Promise<void> {
  await seedClients(app, [CLIENTS.test]);
  expect((await askToken(app)).status).toBe(200);
}

/** The module's lines of one event. */
const linesOf = (logger: CapturingLogger, event: string): LogLine[] =>
  logger.lines.filter((line) => line.fields?.event === event);

describe.each(databases)('start-up checks on $name', (database: TestDatabase) => {
  let isolated: IsolatedDatabase;
  let app: INestApplication | undefined;
  let proxy: TcpProxy | undefined;
  /** Every DataSource an app opened, closed after each test even when its start failed. */
  const opened: DataSource[] = [];
  const logger = new CapturingLogger();

  beforeEach(async () => {
    logger.lines.length = 0;
    isolated = await database.create();
  });

  afterEach(async () => {
    // The proxy first: it resets every connection through it, which mysql2's pool would otherwise wait on
    // when it ends (and then refuses to end, its connections being closed: nothing is left open by then).
    await proxy?.close();
    const proxied = proxy !== undefined;
    proxy = undefined;
    await app?.close();
    app = undefined;
    for (const dataSource of opened.splice(0)) {
      if (!dataSource.isInitialized) continue;
      await (proxied ? dataSource.destroy().catch(() => undefined) : dataSource.destroy());
    }
    await isolated.drop();
    jest.restoreAllMocks();
  });

  /** The app's DataSource: the test database with `overrides`, initialized by @nestjs/typeorm unless told. */
  function typeOrmRoot(
    overrides: Partial<DataSourceOptions> & { manualInitialization?: boolean },
    afterInitialize?: () => Promise<void>,
  ) {
    return TypeOrmModule.forRootAsync({
      useFactory: () =>
        ({ ...isolated.options, retryAttempts: 0, ...overrides }) as TypeOrmModuleOptions,
      dataSourceFactory: async (options) => {
        const dataSource = new DataSource(options!);
        opened.push(dataSource);
        if (overrides.manualInitialization) return dataSource;
        await dataSource.initialize();
        await afterInitialize?.();
        return dataSource;
      },
    });
  }

  const appWith = (
    root: ModuleMetadata['imports'],
    extras: OAuth2ModuleExtras = {},
    options: Partial<OAuth2ModuleOptions> = {},
  ): ModuleMetadata => ({
    imports: [...(root ?? []), OAuth2Module.forRoot({ ...testOptions(options), ...extras })],
  });

  const start = async (metadata: ModuleMetadata) => {
    app = await startApp(metadata, { logger });
    return app;
  };

  /**
   * The error line of a database without the client tables, and the start-up line: `pending` all the
   * module's migrations, or null when they could not be read.
   */
  function expectNoTablesLogged(pending: typeof MIGRATIONS | null): void {
    const [notMigrated] = linesOf(logger, 'oauth2.storage.not_migrated');
    expect(notMigrated.fields).toEqual({
      event: 'oauth2.storage.not_migrated',
      dataSource: 'default',
      missingTables: ['oauth_clients', 'oauth_client_secrets'],
      missingColumns: [],
      pendingMigrations: pending,
    });
    const [startup] = linesOf(logger, 'oauth2.startup.configured');
    expect(startup.fields).toMatchObject({
      migrationsApplied: pending && [],
      migrationsPending: pending,
    });
  }

  test('an entity missing from the DataSource fails start-up, saying what to add', async () => {
    await expect(start(appWith([typeOrmRoot({ entities: [] })]))).rejects.toThrow(
      'OAuth2Module: the DataSource "default" has no entity OAuthClient (the clients), ' +
        "OAuthStoredClientSecret (the clients' further secrets): add " +
        '`entities: [...oauth2Entities(), ...yourEntities]` to its options',
    );
  });

  test("another table's entity: the advice names the module's table options", async () => {
    const metadata = appWith([typeOrmRoot({ entities: oauth2Entities() })], {
      tableName: 'yii_clients',
    });
    await expect(start(metadata)).rejects.toThrow(
      'has no entity OAuthClient(yii_clients) (the clients): add ' +
        "`entities: [...oauth2Entities({ tableName: 'yii_clients' }), ...yourEntities]`",
    );
  });

  test('no tables: an error names them and the fix; the app serves 503 until migrated, then tokens', async () => {
    const started = await start(
      appWith([typeOrmRoot({ entities: oauth2Entities(), migrations: oauth2Migrations() })]),
    );
    const [notMigrated, ...more] = linesOf(logger, 'oauth2.storage.not_migrated');
    expect(more).toEqual([]);
    expect(notMigrated).toMatchObject({ level: 'error', context: 'OAuth2' });
    expect(notMigrated.message).toBe(
      'The DataSource "default" has no table oauth_clients (the clients) and no table ' +
        "oauth_client_secrets (the clients' further secrets): token requests answer 503 until the module's " +
        `migrations are applied; ${ADVICE}`,
    );
    expectNoTablesLogged(MIGRATIONS);
    const [startup] = linesOf(logger, 'oauth2.startup.configured');
    expect(startup.message).toContain("; the module's migrations: 0 applied, 5 pending (");

    await expectUnavailable(started);
    // Migrated while it runs: no restart needed.
    await started.get(DataSource).runMigrations();
    await expectTokenIssued(started);
  });

  test('half migrated: the missing table and columns named, the pending migrations listed', async () => {
    await start(
      appWith([
        typeOrmRoot({
          entities: oauth2Entities(),
          migrations: oauth2Migrations().slice(0, 3),
          migrationsRun: true,
        }),
      ]),
    );
    const [notMigrated] = linesOf(logger, 'oauth2.storage.not_migrated');
    expect(notMigrated.fields).toMatchObject({
      missingTables: ['oauth_client_secrets'],
      missingColumns: expect.arrayContaining([
        'oauth_clients.client_secret_expires_at',
        'oauth_clients.token_endpoint_auth_method',
        'oauth_clients.disabled',
      ]),
      pendingMigrations: MIGRATIONS.slice(3),
    });
    expect(notMigrated.message).toMatch(
      /has no table oauth_client_secrets \(the clients' further secrets\) and no column oauth_clients\.client_secret_expires_at, /,
    );
    const [startup] = linesOf(logger, 'oauth2.startup.configured');
    expect(startup.fields).toMatchObject({
      migrationsApplied: MIGRATIONS.slice(0, 3),
      migrationsPending: MIGRATIONS.slice(3),
    });
  });

  test('fully migrated: no error, every migration applied on the start-up line', async () => {
    const started = await start(appWith([typeOrmRoot({ ...MODULE_SCHEMA, migrationsRun: true })]));
    expect(logger.lines.filter((line) => line.level !== 'log')).toEqual([]);
    const [startup] = linesOf(logger, 'oauth2.startup.configured');
    expect(startup.fields).toMatchObject({ migrationsApplied: MIGRATIONS, migrationsPending: [] });
    await expectTokenIssued(started);
  });

  test('keyStore: true without the key table fails start-up: there would be no key to sign with', async () => {
    const metadata = appWith(
      [typeOrmRoot({ entities: oauth2Entities() })],
      { keyStore: true, clientRepository: { useValue: new InMemoryOAuthClientRepository() } },
      { signing: undefined, keyEncryptionKey: KEK },
    );
    await expect(start(metadata)).rejects.toThrow(
      'OAuth2Module: the DataSource "default" has no table oauth_signing_keys for the signing keys of the ' +
        `TypeORM key store (\`keyStore: true\`): ${ADVICE}`,
    );
  });

  test('a DataSource not initialized at start-up: a warning, the app starts, and serves once it is', async () => {
    const started = await start(
      appWith([typeOrmRoot({ ...MODULE_SCHEMA, manualInitialization: true })]),
    );
    const [unchecked, ...more] = linesOf(logger, 'oauth2.storage.unchecked');
    expect(more).toEqual([]);
    expect(unchecked).toMatchObject({
      level: 'warn',
      fields: {
        event: 'oauth2.storage.unchecked',
        dataSource: 'default',
        reason: 'the DataSource is not initialized',
      },
    });
    const [startup] = linesOf(logger, 'oauth2.startup.configured');
    expect(startup.fields).toMatchObject({ migrationsApplied: null, migrationsPending: null });
    await expectUnavailable(started);

    const dataSource = started.get(DataSource);
    await dataSource.initialize();
    await dataSource.runMigrations();
    await expectTokenIssued(started);
  });

  /** The DataSource the app opened last. */
  const lastOpened = () => opened[opened.length - 1];

  /**
   * typeorm before 0.3.29 (typeorm#11672), which our peer range allows: getExecutedMigrations() creates the
   * migrations table when it is missing.
   */
  function asTypeOrmBefore0329(): void {
    type Internals = {
      withQueryRunner<T>(callback: (runner: QueryRunner) => Promise<T>): Promise<T>;
      createMigrationsTableIfNotExist(runner: QueryRunner): Promise<void>;
      loadExecutedMigrations(runner: QueryRunner): Promise<Migration[]>;
    };
    jest.spyOn(MigrationExecutor.prototype, 'getExecutedMigrations').mockImplementation(function (
      this: MigrationExecutor,
    ) {
      const executor = this as unknown as Internals;
      return executor.withQueryRunner(async (runner) => {
        await executor.createMigrationsTableIfNotExist(runner);
        return executor.loadExecutedMigrations(runner);
      });
    });
  }

  test.each([
    ['typeorm as installed', () => {}],
    ['typeorm before 0.3.29', asTypeOrmBefore0329],
  ])("%s: the check reads TypeORM's migrations table, never creates it", async (_, typeOrm) => {
    typeOrm();
    await start(
      appWith([typeOrmRoot({ ...MODULE_SCHEMA, migrationsTableName: 'app_migrations' })]),
    );
    const [startup] = linesOf(logger, 'oauth2.startup.configured');
    expect(startup.fields).toMatchObject({ migrationsApplied: [], migrationsPending: MIGRATIONS });
    const runner = lastOpened().createQueryRunner();
    try {
      expect(await runner.hasTable('app_migrations')).toBe(false);
      expect(await runner.hasTable('migrations')).toBe(false);
    } finally {
      await runner.release();
    }
  });

  test('typeorm before 0.3.29: the migrations recorded in a migrationsTableName of the app are read', async () => {
    asTypeOrmBefore0329();
    await start(
      appWith([
        typeOrmRoot({
          entities: oauth2Entities(),
          migrations: oauth2Migrations().slice(0, 2),
          migrationsRun: true,
          migrationsTableName: 'app_migrations',
        }),
      ]),
    );
    const [startup] = linesOf(logger, 'oauth2.startup.configured');
    expect(startup.fields).toMatchObject({
      migrationsApplied: MIGRATIONS.slice(0, 2),
      migrationsPending: MIGRATIONS.slice(2),
    });
  });

  test('a migrations table that cannot be read: told apart, the missing tables still named', async () => {
    const started = await start(
      appWith([
        typeOrmRoot({ entities: oauth2Entities() }, async () => {
          // A table of that name, but not TypeORM's: reading it fails (it has no id to order by).
          const runner = lastOpened().createQueryRunner();
          await runner.createTable(
            new Table({ name: 'migrations', columns: [{ name: 'other', type: 'int' }] }),
          );
          await runner.release();
        }),
      ]),
    );
    expect(linesOf(logger, 'oauth2.storage.unchecked')).toEqual([]);
    const [unread, ...more] = linesOf(logger, 'oauth2.storage.migrations_unread');
    expect(more).toEqual([]);
    expect(unread).toMatchObject({
      level: 'warn',
      context: 'OAuth2',
      fields: { event: 'oauth2.storage.migrations_unread', dataSource: 'default' },
    });
    expect(unread.message).toMatch(
      /^The module could not read which of its migrations TypeORM recorded \(.+\): the start-up line leaves them out$/,
    );
    expectNoTablesLogged(null);
    await expectUnavailable(started);
  });

  if (database.name !== 'sqlite') {
    test('a database cut off at start-up: a warning without host or SQL, the app starts and heals', async () => {
      const target = proxiedOptions(isolated.options);
      proxy = await TcpProxy.start(target.upstream);
      const started = await start(
        appWith([
          typeOrmRoot(
            {
              ...target.through(proxy.port),
              ...MODULE_SCHEMA,
              migrationsRun: true,
            } as Partial<DataSourceOptions>,
            // Connected and migrated, then the database goes away before the module's check.
            () => proxy!.cut(),
          ),
        ]),
      );
      const [unchecked] = linesOf(logger, 'oauth2.storage.unchecked');
      expect(unchecked.level).toBe('warn');
      expect(unchecked.message).toMatch(/^The module could not check its tables at start-up \(/);
      // The error's class and code only: no host, port, SQL, table or stack frame.
      expect(unchecked.whole).not.toMatch(/127\.0\.0\.1|\bSELECT\b|oauth_clients|^\s*at\s/m);
      await expectUnavailable(started);

      proxy.restore();
      await eventually(() => expectTokenIssued(started));
    });
  }
});

/** The test database's options reached through a TCP proxy instead. */
function proxiedOptions(options: DataSourceOptions): {
  upstream: { host: string; port: number };
  through(port: number): Partial<DataSourceOptions>;
} {
  if (options.type === 'postgres') {
    const url = new URL(options.url!);
    return {
      upstream: { host: url.hostname, port: Number(url.port || 5432) },
      through(port) {
        const proxied = new URL(url);
        proxied.hostname = '127.0.0.1';
        proxied.port = String(port);
        return { url: proxied.href } as Partial<DataSourceOptions>;
      },
    };
  }
  const { host, port } = options as { host: string; port: number };
  return {
    upstream: { host, port },
    through: (local) => ({ host: '127.0.0.1', port: local }) as Partial<DataSourceOptions>,
  };
}
