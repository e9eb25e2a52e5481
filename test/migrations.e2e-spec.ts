import { afterEach, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import {
  oauth2Migrations,
  oauthClientEntity,
  OAuthClient,
  type OAuth2MigrationsOptions,
} from '../src/index.js';
import { tempDir } from './support/cli.js';
import { databases, type IsolatedDatabase } from './support/databases.js';
import { createSeedTable, rawTable } from './support/legacy.js';

const MIGRATION = 'OAuth2CreateClientTable_oauth_clients_1795564800000';

/** Each column as the database reports it, with the length and nullability the entity declares. */
const ENTITY_COLUMNS = [
  ['client_id', '80', false, true],
  ['client_secret', '255', true, false],
  ['redirect_uri', '2000', true, false],
  ['grant_types', '80', true, false],
  ['scope', '4000', true, false],
  ['user_id', '80', true, false],
];
const VARCHAR: Record<string, string> = {
  sqlite: 'varchar',
  postgres: 'character varying',
  mysql: 'varchar',
};

describe.each(databases)('oauth2Migrations() on $name', (database) => {
  const open: DataSource[] = [];
  let isolated: IsolatedDatabase | undefined;

  const cleanups: Array<() => void> = [];

  afterEach(async () => {
    for (const dataSource of open.splice(0)) await dataSource.destroy();
    await isolated?.drop();
    isolated = undefined;
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  /** A DataSource on this test's own empty schema, with the module's migrations and nothing synchronized. */
  async function connect(
    tables: OAuth2MigrationsOptions = {},
    base?: DataSourceOptions,
  ): Promise<DataSource> {
    isolated ??= await database.create();
    const table = (tables.tablePrefix ?? '') + (tables.tableName ?? 'oauth_clients');
    const dataSource = new DataSource({
      ...(base ?? isolated.options),
      entities: [oauthClientEntity(table)],
      migrations: oauth2Migrations(tables),
      synchronize: false,
    } as DataSourceOptions);
    await dataSource.initialize();
    open.push(dataSource);
    return dataSource;
  }

  async function columnsOf(dataSource: DataSource, table: string) {
    const queryRunner = dataSource.createQueryRunner();
    try {
      const found = await queryRunner.getTable(table);
      return found?.columns.map((c) => [c.name, c.type, c.length, c.isNullable, c.isPrimary]);
    } finally {
      await queryRunner.release();
    }
  }

  const expectedColumns = () =>
    ENTITY_COLUMNS.map(([name, length, nullable, primary]) => [
      name,
      VARCHAR[database.name],
      length,
      nullable,
      primary,
    ]);

  test('a fresh schema: the table the entity declares, and nothing left to synchronize', async () => {
    const dataSource = await connect();
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    expect(applied.map((m) => m.name)).toEqual([MIGRATION]);
    expect(await columnsOf(dataSource, 'oauth_clients')).toEqual(expectedColumns());

    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);

    // The entity reads and writes through it.
    const repository = dataSource.getRepository(OAuthClient);
    await repository.save(OAuthClient.create({ clientId: 'c1', clientSecret: 'x'.repeat(255) }));
    expect(await repository.findOneBy({ clientId: 'c1' })).toEqual(
      OAuthClient.create({ clientId: 'c1', clientSecret: 'x'.repeat(255) }),
    );
  });

  test('a second run applies nothing, in the same process or a new one', async () => {
    // SQLite's :memory: dies with its connection: the second connection needs a file.
    const file = tempDir('oauth2-migrations-');
    cleanups.push(file.remove);
    const base: DataSourceOptions | undefined =
      database.name === 'sqlite'
        ? { type: 'better-sqlite3', database: join(file.path, 'twice.sqlite') }
        : undefined;
    const first = await connect({}, base);
    expect((await first.runMigrations()).map((m) => m.name)).toEqual([MIGRATION]);
    await first.getRepository(OAuthClient).save(OAuthClient.create({ clientId: 'kept' }));
    expect(await first.runMigrations()).toEqual([]);

    const second = await connect({}, base);
    expect(await second.showMigrations()).toBe(false);
    expect(await second.runMigrations()).toEqual([]);
    expect(await second.getRepository(OAuthClient).count()).toBe(1);
  });

  test('a custom table name and prefix', async () => {
    const tables = { tableName: 'clients', tablePrefix: 'yii_' };
    const dataSource = await connect(tables);
    const applied = await dataSource.runMigrations();
    expect(applied.map((m) => m.name)).toEqual([
      'OAuth2CreateClientTable_yii_clients_1795564800000',
    ]);
    const queryRunner = dataSource.createQueryRunner();
    try {
      expect(await queryRunner.hasTable('yii_clients')).toBe(true);
      expect(await queryRunner.hasTable('oauth_clients')).toBe(false);
    } finally {
      await queryRunner.release();
    }
    expect(await columnsOf(dataSource, 'yii_clients')).toEqual(expectedColumns());
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);

    // Another table in the same database is another migration.
    const other = await connect({ tableName: 'oauth_clients' });
    expect((await other.runMigrations()).map((m) => m.name)).toEqual([MIGRATION]);
  });

  test('undoLastMigration drops the table and forgets the migration', async () => {
    const dataSource = await connect();
    await dataSource.runMigrations();
    await dataSource.getRepository(OAuthClient).save(OAuthClient.create({ clientId: 'gone' }));
    await dataSource.undoLastMigration();
    const queryRunner = dataSource.createQueryRunner();
    try {
      expect(await queryRunner.hasTable('oauth_clients')).toBe(false);
    } finally {
      await queryRunner.release();
    }
    expect(await dataSource.showMigrations()).toBe(true);
    // And it can be applied again.
    expect((await dataSource.runMigrations()).map((m) => m.name)).toEqual([MIGRATION]);
  });

  test('an existing seed table is adopted as it is: no DDL, rows kept', async () => {
    const dataSource = await connect();
    await createSeedTable(dataSource, 'oauth_clients', [['testclient', 'testpass', 'a b']]);
    expect((await dataSource.runMigrations()).map((m) => m.name)).toEqual([MIGRATION]);
    expect(await columnsOf(dataSource, 'oauth_clients')).toEqual(
      expectedColumns().map((column) =>
        column[0] === 'client_secret'
          ? ['client_secret', VARCHAR[database.name], '80', true, false]
          : column,
      ),
    );
    expect(await dataSource.getRepository(OAuthClient).find()).toEqual([
      OAuthClient.create({ clientId: 'testclient', clientSecret: 'testpass', scope: 'a b' }),
    ]);
  });

  test('an existing table that is not a client table is refused, and nothing recorded', async () => {
    const dataSource = await connect();
    await dataSource.query(
      `CREATE TABLE ${rawTable(dataSource.options, 'oauth_clients')} (client_id VARCHAR(80) PRIMARY KEY)`,
    );
    await expect(dataSource.runMigrations()).rejects.toThrow(
      `${MIGRATION}: table oauth_clients already exists without the column(s) client_secret, ` +
        'redirect_uri, grant_types, scope, user_id: it is not a client table this module can read',
    );
    expect(await dataSource.showMigrations()).toBe(true);
  });
});
