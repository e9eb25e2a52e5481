import { afterEach, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { DataSource, type DataSourceOptions, type Logger } from 'typeorm';
import {
  oauth2Entities,
  oauth2Migrations,
  OAuthClient,
  OAuthStoredKey,
  type OAuth2MigrationsOptions,
} from '../src/index.js';
import { tempDir } from './support/cli.js';
import { databases, type IsolatedDatabase } from './support/databases.js';
import { createSeedTable, rawTable, SEED_COLUMNS } from './support/legacy.js';

const MIGRATION = 'OAuth2CreateClientTable_oauth_clients_1795564800000';
const KEY_MIGRATION = 'OAuth2CreateSigningKeyTable_oauth_signing_keys_1796601600000';
/** Every migration of the default tables, in the order they run. */
const MIGRATIONS = [
  MIGRATION,
  'OAuth2ClientIdBinaryCollation_oauth_clients_1795996800000',
  KEY_MIGRATION,
  'OAuth2ClientLifecycleColumns_oauth_clients_1798502400000',
  'OAuth2CreateClientSecretTable_oauth_client_secrets_1798588800000',
];
const names = (migrations: Array<{ name: string }>) => migrations.map((m) => m.name);
/** The statements on anything but the key and secret tables, which migrations create beside a seed table. */
const seedTableDdl = (ddl: string[]) =>
  ddl.filter((query) => !/oauth_signing_keys|oauth_client_secrets/.test(query));
/** The columns the lifecycle migration adds to a seed table, in order. */
const LIFECYCLE_COLUMNS = [
  'client_secret_expires_at',
  'client_secret_last_used_at',
  'token_endpoint_auth_method',
  'jwks',
  'jwks_uri',
  'access_token_lifetime',
  'audience',
  'disabled',
];
/** One `ALTER TABLE <table> ADD [COLUMN] <column> …` per lifecycle column, and nothing else. */
const addedColumns = (table: string) =>
  LIFECYCLE_COLUMNS.map((column) =>
    expect.stringMatching(
      new RegExp(
        `^ALTER TABLE (?:"\\w+"\\.)?["\`]${table}["\`] ADD (?:COLUMN )?["\`]${column}["\`] `,
      ),
    ),
  );

/** A TypeORM logger that keeps every DDL statement, except the bookkeeping of TypeORM's own `migrations`. */
function ddlRecorder(statements: string[]): Logger {
  const ignore = () => {};
  return {
    logQuery(query) {
      if (/^\s*(CREATE|ALTER|DROP)\b/i.test(query) && !/\bmigrations\b/.test(query)) {
        statements.push(query.trim());
      }
    },
    logQueryError: ignore,
    logQuerySlow: ignore,
    logSchemaBuild: ignore,
    logMigration: ignore,
    log: ignore,
  };
}

const VARCHAR: Record<string, string> = {
  sqlite: 'varchar',
  postgres: 'character varying',
  mysql: 'varchar',
};
const INTEGER: Record<string, string> = { sqlite: 'integer', postgres: 'integer', mysql: 'int' };
const BOOLEAN: Record<string, string> = {
  sqlite: 'boolean',
  postgres: 'boolean',
  mysql: 'tinyint',
};
type ColumnRow = [name: string, type: string, length: string, nullable: boolean, primary: boolean];

/** The client table's columns as each database reports them: the seed's, then the lifecycle's. */
const CLIENT_COLUMNS = (database: string): ColumnRow[] => [
  ['client_id', VARCHAR[database], '80', false, true],
  ['client_secret', VARCHAR[database], '255', true, false],
  ['redirect_uri', VARCHAR[database], '2000', true, false],
  ['grant_types', VARCHAR[database], '80', true, false],
  ['scope', VARCHAR[database], '4000', true, false],
  ['user_id', VARCHAR[database], '80', true, false],
  ['client_secret_expires_at', 'bigint', '', true, false],
  ['client_secret_last_used_at', 'bigint', '', true, false],
  ['token_endpoint_auth_method', VARCHAR[database], '40', true, false],
  ['jwks', 'text', '', true, false],
  ['jwks_uri', VARCHAR[database], '2000', true, false],
  ['access_token_lifetime', INTEGER[database], '', true, false],
  ['audience', VARCHAR[database], '4000', true, false],
  ['disabled', BOOLEAN[database], '', false, false],
];
/** The key table's columns as each database reports them. */
const KEY_COLUMNS = (database: string): ColumnRow[] => [
  ['kid', VARCHAR[database], '64', false, true],
  ['alg', VARCHAR[database], '16', false, false],
  ['state', VARCHAR[database], '16', false, false],
  ['sealed_private_key', 'text', '', false, false],
  ['public_jwk', 'text', '', false, false],
  ['created_at', 'bigint', '', false, false],
  ['activated_at', 'bigint', '', true, false],
  ['retired_at', 'bigint', '', true, false],
];
/** The secret table's columns as each database reports them. */
const SECRET_COLUMNS = (database: string): ColumnRow[] => [
  ['id', VARCHAR[database], '40', false, true],
  ['client_id', VARCHAR[database], '80', false, false],
  ['secret_hash', VARCHAR[database], '255', false, false],
  ['created_at', 'bigint', '', false, false],
  ['expires_at', 'bigint', '', true, false],
  ['last_used_at', 'bigint', '', true, false],
];

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
    logger?: Logger,
  ): Promise<DataSource> {
    isolated ??= await database.create();
    const dataSource = new DataSource({
      ...(base ?? isolated.options),
      entities: oauth2Entities(tables),
      migrations: oauth2Migrations(tables),
      synchronize: false,
      ...(logger ? { logger } : {}),
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

  const expectedColumns = () => CLIENT_COLUMNS(database.name);

  test('a fresh schema: the tables the entities declare, and nothing left to synchronize', async () => {
    const dataSource = await connect();
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    expect(names(applied)).toEqual(MIGRATIONS);
    expect(await columnsOf(dataSource, 'oauth_clients')).toEqual(expectedColumns());
    expect(await columnsOf(dataSource, 'oauth_signing_keys')).toEqual(KEY_COLUMNS(database.name));
    expect(await columnsOf(dataSource, 'oauth_client_secrets')).toEqual(
      SECRET_COLUMNS(database.name),
    );

    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);

    // The entity reads and writes through it.
    const repository = dataSource.getRepository(OAuthClient);
    await repository.save(OAuthClient.create({ clientId: 'c1', clientSecret: 'x'.repeat(255) }));
    expect(await repository.findOneBy({ clientId: 'c1' })).toEqual(
      OAuthClient.create({ clientId: 'c1', clientSecret: 'x'.repeat(255) }),
    );
  });

  test('the key table stores times as epoch milliseconds: read back identically on every database', async () => {
    const dataSource = await connect();
    await dataSource.runMigrations();
    const repository = dataSource.getRepository(OAuthStoredKey);
    // Milliseconds, a time far from the local zone's offsets, and one past 2038 (a 32-bit epoch's end).
    const times = [new Date('2031-03-30T01:30:00.123Z'), new Date('2100-12-31T23:59:59.999Z')];
    await repository.insert({
      kid: 'Kid-Aa_1',
      algorithm: 'ES256',
      state: 'retired',
      sealedPrivateKey: 'x'.repeat(5000),
      publicJwk: '{}',
      createdAt: times[0],
      activatedAt: times[1],
      retiredAt: null,
    });
    const [row] = await repository.find();
    expect([row.createdAt, row.activatedAt, row.retiredAt]).toEqual([times[0], times[1], null]);
    expect(row.createdAt).toBeInstanceOf(Date);
    expect(row.sealedPrivateKey).toHaveLength(5000);
    const raw = await dataSource.query(
      `SELECT created_at FROM ${rawTable(dataSource.options, 'oauth_signing_keys')}`,
    );
    expect(Number(raw[0].created_at)).toBe(times[0].getTime());
    // A kid is case-sensitive base64url: the database compares it exactly (on MariaDB, a binary collation).
    expect(await repository.findOneBy({ kid: 'kid-aa_1' })).toBeNull();
    expect((await repository.findOneBy({ kid: 'Kid-Aa_1' }))?.kid).toBe('Kid-Aa_1');
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
    expect(names(await first.runMigrations())).toEqual(MIGRATIONS);
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
    expect(names(applied)).toEqual([
      'OAuth2CreateClientTable_yii_clients_1795564800000',
      'OAuth2ClientIdBinaryCollation_yii_clients_1795996800000',
      'OAuth2CreateSigningKeyTable_yii_oauth_signing_keys_1796601600000',
      'OAuth2ClientLifecycleColumns_yii_clients_1798502400000',
      'OAuth2CreateClientSecretTable_yii_oauth_client_secrets_1798588800000',
    ]);
    const queryRunner = dataSource.createQueryRunner();
    try {
      expect(await queryRunner.hasTable('yii_clients')).toBe(true);
      expect(await queryRunner.hasTable('yii_oauth_signing_keys')).toBe(true);
      expect(await queryRunner.hasTable('yii_oauth_client_secrets')).toBe(true);
      expect(await queryRunner.hasTable('oauth_clients')).toBe(false);
      expect(await queryRunner.hasTable('oauth_signing_keys')).toBe(false);
      expect(await queryRunner.hasTable('oauth_client_secrets')).toBe(false);
    } finally {
      await queryRunner.release();
    }
    expect(await columnsOf(dataSource, 'yii_clients')).toEqual(expectedColumns());
    expect(await columnsOf(dataSource, 'yii_oauth_signing_keys')).toEqual(
      KEY_COLUMNS(database.name),
    );
    expect(await columnsOf(dataSource, 'yii_oauth_client_secrets')).toEqual(
      SECRET_COLUMNS(database.name),
    );
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);

    // Another table in the same database is another migration.
    const other = await connect({ tableName: 'oauth_clients' });
    expect(names(await other.runMigrations())).toEqual(MIGRATIONS);
  });

  test('undoLastMigration, one at a time: the secret table, the lifecycle columns, the key table go; the collation step leaves the column; then the client table goes', async () => {
    const dataSource = await connect();
    await dataSource.runMigrations();
    await dataSource
      .getRepository(OAuthClient)
      .save(OAuthClient.create({ clientId: 'gone', clientSecret: 'hash', disabled: true }));
    const hasTable = async (table = 'oauth_clients') => {
      const queryRunner = dataSource.createQueryRunner();
      try {
        return await queryRunner.hasTable(table);
      } finally {
        await queryRunner.release();
      }
    };
    // Plain SQL: once the lifecycle columns are gone, the entity cannot read the table any more.
    const ids = async (where = '') =>
      (
        await dataSource.query<Array<{ client_id: string }>>(
          `SELECT client_id FROM ${rawTable(dataSource.options, 'oauth_clients')} ${where}`,
        )
      ).map((row) => row.client_id);

    await dataSource.undoLastMigration();
    expect(await hasTable('oauth_client_secrets')).toBe(false);
    expect(await columnsOf(dataSource, 'oauth_clients')).toEqual(expectedColumns());

    await dataSource.undoLastMigration();
    expect(await columnsOf(dataSource, 'oauth_clients')).toEqual(expectedColumns().slice(0, 6));
    expect(await ids()).toEqual(['gone']);
    expect(await hasTable('oauth_signing_keys')).toBe(true);

    await dataSource.undoLastMigration();
    expect(await hasTable('oauth_signing_keys')).toBe(false);
    expect(await hasTable()).toBe(true);
    await dataSource.undoLastMigration();
    expect(await dataSource.showMigrations()).toBe(true);
    expect(await hasTable()).toBe(true);
    expect(await ids()).toEqual(['gone']);
    expect(await ids("WHERE client_id = 'GONE'")).toEqual([]);

    await dataSource.undoLastMigration();
    expect(await hasTable()).toBe(false);
    // And they can be applied again.
    expect(names(await dataSource.runMigrations())).toEqual(MIGRATIONS);
    expect(await columnsOf(dataSource, 'oauth_clients')).toEqual(expectedColumns());
  });

  test('the lifecycle columns read back as written: a boolean `disabled`, epoch milliseconds past 2038', async () => {
    const dataSource = await connect();
    await dataSource.runMigrations();
    const repository = dataSource.getRepository(OAuthClient);
    const times = [new Date('2031-03-30T01:30:00.123Z'), new Date('2100-12-31T23:59:59.999Z')];
    const client = OAuthClient.create({
      clientId: 'full',
      clientSecret: 'hash',
      clientSecretExpiresAt: times[0],
      clientSecretLastUsedAt: times[1],
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: JSON.stringify({ keys: [] }),
      jwksUri: 'https://client.example/jwks',
      accessTokenLifetime: 2 ** 31 - 1,
      audience: 'https://api.example/ https://other.example/',
      disabled: true,
    });
    // A copy: TypeORM's insert on MariaDB writes the stored (untransformed) defaults back into what it got.
    await repository.insert({ ...client });
    // A row written by plain SQL, as the seed's tools write them: every new column takes its default.
    await dataSource.query(
      `INSERT INTO ${rawTable(dataSource.options, 'oauth_clients')} (client_id) VALUES ('plain')`,
    );
    const [full, plain] = await repository.find({ order: { clientId: 'ASC' } });
    expect(full).toEqual(client);
    expect(full.disabled).toBe(true);
    expect(plain).toEqual(OAuthClient.create({ clientId: 'plain' }));
    expect(plain.disabled).toBe(false);
    await repository.update({ clientId: 'full' }, { disabled: false });
    expect((await repository.findOneByOrFail({ clientId: 'full' })).disabled).toBe(false);
  });

  test('after the migrations the database itself compares client ids exactly', async () => {
    const dataSource = await connect();
    await dataSource.runMigrations();
    const repository = dataSource.getRepository(OAuthClient);
    await repository.save(OAuthClient.create({ clientId: 'testclient' }));
    // TypeORM's own query, without the library's repository (which checks the id it reads back).
    expect(await repository.findOneBy({ clientId: 'TESTCLIENT' })).toBeNull();
    expect(await repository.findOneBy({ clientId: 'testClient' })).toBeNull();
    expect((await repository.findOneBy({ clientId: 'testclient' }))?.clientId).toBe('testclient');
    // An id differing only by case is another client.
    await repository.save(OAuthClient.create({ clientId: 'TESTCLIENT', scope: 'upper' }));
    expect(
      (await repository.find({ order: { clientId: 'ASC' } })).map((c) => [c.clientId, c.scope]),
    ).toEqual([
      ['TESTCLIENT', 'upper'],
      ['testclient', null],
    ]);
  });

  test('an existing seed table is adopted, rows kept; it gains the lifecycle columns, and a binary client_id on MariaDB/MySQL', async () => {
    const ddl: string[] = [];
    const dataSource = await connect({}, undefined, ddlRecorder(ddl));
    await createSeedTable(dataSource, 'oauth_clients', [['testclient', 'testpass', 'a b']]);
    ddl.length = 0;
    expect(names(await dataSource.runMigrations())).toEqual(MIGRATIONS);
    // The seed's DDL takes the database's default collation, case-insensitive on MariaDB/MySQL: the second
    // migration gives client_id the binary collation of its character set; the fourth adds the lifecycle
    // columns in place (no copy of the table, on SQLite either). Nothing else changes.
    expect(seedTableDdl(ddl)).toEqual([
      ...(database.name === 'mysql'
        ? [
            'ALTER TABLE `oauth_clients` MODIFY `client_id` varchar(80) ' +
              'CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL',
          ]
        : []),
      ...addedColumns('oauth_clients'),
    ]);
    expect(await columnsOf(dataSource, 'oauth_clients')).toEqual(
      expectedColumns().map((column) =>
        column[0] === 'client_secret'
          ? ['client_secret', VARCHAR[database.name], '80', true, false]
          : column,
      ),
    );
    const repository = dataSource.getRepository(OAuthClient);
    expect(await repository.find()).toEqual([
      OAuthClient.create({ clientId: 'testclient', clientSecret: 'testpass', scope: 'a b' }),
    ]);
    expect(await repository.findOneBy({ clientId: 'TESTCLIENT' })).toBeNull();
  });

  test('a seed table whose client_id is binary already is adopted with no DDL but the lifecycle columns', async () => {
    const ddl: string[] = [];
    const dataSource = await connect({}, undefined, ddlRecorder(ddl));
    const binary = {
      sqlite: 'COLLATE BINARY',
      postgres: 'COLLATE "C"',
      mysql: 'COLLATE utf8mb4_bin',
    };
    await createSeedTable(
      dataSource,
      'oauth_clients',
      [['testclient', 'testpass', 'a b']],
      SEED_COLUMNS.replace(
        'client_id VARCHAR(80)',
        `client_id VARCHAR(80) ${binary[database.name]}`,
      ),
    );
    ddl.length = 0;
    expect(names(await dataSource.runMigrations())).toEqual(MIGRATIONS);
    expect(seedTableDdl(ddl)).toEqual(addedColumns('oauth_clients'));
    expect(await dataSource.getRepository(OAuthClient).count()).toBe(1);
  });

  test('an existing table that is not a client table is refused, and nothing recorded', async () => {
    // TypeORM logs the failure it is about to throw; kept here and asserted on, so that an expected failure
    // does not print in the test output as if it were a real one.
    const migrationLog: string[] = [];
    const dataSource = await connect({}, undefined, {
      ...ddlRecorder([]),
      logMigration: (message) => migrationLog.push(message),
    });
    await dataSource.query(
      `CREATE TABLE ${rawTable(dataSource.options, 'oauth_clients')} (client_id VARCHAR(80) PRIMARY KEY)`,
    );
    const refusal =
      `${MIGRATION}: table oauth_clients already exists without the column(s) client_secret, ` +
      'redirect_uri, grant_types, scope, user_id: it is not a client table this module can read';
    await expect(dataSource.runMigrations()).rejects.toThrow(refusal);
    expect(migrationLog).toContain(`Migration "${MIGRATION}" failed, error: ${refusal}`);
    expect(await dataSource.showMigrations()).toBe(true);
  });
});
