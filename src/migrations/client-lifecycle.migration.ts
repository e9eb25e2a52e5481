import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';
import { COLLATING_DRIVERS } from './client-id-binary-collation.migration.js';
import { schemaClasses, type OAuth2MigrationClass } from './create-client-table.migration.js';

/** When these migrations were written: after the signing key table's, so TypeORM runs them last. */
const COLUMNS_WRITTEN_AT = 1798502400000;
const SECRET_TABLE_WRITTEN_AT = 1798588800000;
/** Drivers whose boolean is a type of its own, with the literals true and false. */
const POSTGRES_FAMILY: ReadonlySet<string> = new Set(['postgres', 'cockroachdb']);
/** TypeORM's SQLite drivers, whose addColumns/dropColumns copy the whole table into a new one. */
const SQLITE_FAMILY: ReadonlySet<string> = new Set([
  'better-sqlite3',
  'capacitor',
  'cordova',
  'expo',
  'nativescript',
  'react-native',
  'sqljs',
]);

/**
 * The columns the client lifecycle adds to the client table, frozen here. Every one is nullable or has a
 * default that keeps today's behaviour: a seed table gains them and its clients work as before.
 *
 * `disabled` defaults to false in the words each database reads back, so the entity finds nothing to
 * synchronize: PostgreSQL has a boolean type (`false`; it refuses `0`), MariaDB/MySQL and SQLite store 0.
 */
function clientColumns(driver: string): TableColumnOptions[] {
  const FALSE = POSTGRES_FAMILY.has(driver) ? 'false' : '0';
  return [
    { name: 'client_secret_expires_at', type: 'bigint', isNullable: true },
    { name: 'client_secret_last_used_at', type: 'bigint', isNullable: true },
    { name: 'token_endpoint_auth_method', type: 'varchar', length: '40', isNullable: true },
    { name: 'jwks', type: 'text', isNullable: true },
    { name: 'jwks_uri', type: 'varchar', length: '2000', isNullable: true },
    { name: 'access_token_lifetime', type: 'integer', isNullable: true },
    { name: 'audience', type: 'varchar', length: '4000', isNullable: true },
    { name: 'disabled', type: 'boolean', isNullable: false, default: FALSE },
  ];
}

/**
 * The migration that adds the lifecycle columns (secret expiry and last use, authentication method, keys,
 * lifetime, audience, disabled) to the client table `table`. A column that is there already is left alone, so
 * a table extended by hand is adopted. Reverting drops them.
 *
 * On SQLite it says `ALTER TABLE … ADD COLUMN` / `DROP COLUMN` itself (SQLite ≥ 3.35): TypeORM's own way
 * there copies the table into one it declares afresh, which would drop what it does not model of a legacy
 * table (its triggers, checks, the seed's own column declarations).
 */
export function clientLifecycleColumnsMigration(table: string): OAuth2MigrationClass {
  const name = `OAuth2ClientLifecycleColumns_${table}_${COLUMNS_WRITTEN_AT}`;

  class ClientLifecycleColumns implements MigrationInterface {
    readonly name = name;

    async up(queryRunner: QueryRunner): Promise<void> {
      const existing = await queryRunner.getTable(table);
      if (!existing) throw new Error(`${name}: table ${table} does not exist`);
      const missing = clientColumns(queryRunner.connection.driver.options.type).filter(
        (column) => !existing.findColumnByName(column.name),
      );
      const { TableColumn } = schemaClasses();
      const added = missing.map((column) => new TableColumn(column));
      if (!SQLITE_FAMILY.has(queryRunner.connection.driver.options.type)) {
        if (added.length > 0) await queryRunner.addColumns(existing, added);
        return;
      }
      const { driver } = queryRunner.connection;
      for (const column of added) {
        const nullability = column.isNullable ? '' : ' NOT NULL';
        const fallback = column.default === undefined ? '' : ` DEFAULT ${String(column.default)}`;
        await queryRunner.query(
          `ALTER TABLE ${driver.escape(table)} ADD COLUMN ${driver.escape(column.name)} ` +
            `${driver.createFullType(column)}${nullability}${fallback}`,
        );
      }
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      const existing = await queryRunner.getTable(table);
      if (!existing) return;
      // The columns that are there: one dropped by hand since must not stop the others from going.
      const present = clientColumns(queryRunner.connection.driver.options.type)
        .map((column) => existing.findColumnByName(column.name))
        .filter((column) => column !== undefined);
      if (!SQLITE_FAMILY.has(queryRunner.connection.driver.options.type)) {
        if (present.length > 0) await queryRunner.dropColumns(existing, present);
        return;
      }
      const { driver } = queryRunner.connection;
      for (const column of present) {
        await queryRunner.query(
          `ALTER TABLE ${driver.escape(table)} DROP COLUMN ${driver.escape(column.name)}`,
        );
      }
    }
  }

  Object.defineProperty(ClientLifecycleColumns, 'name', { value: name });
  return ClientLifecycleColumns;
}

/**
 * The migration that creates `table`, the clients' further secrets (several per client, each with its own
 * expiry). Ids compare exactly on every database (binary collations on MariaDB/MySQL). Reverting drops it, and
 * every secret in it: the clients keep only their `client_secret`.
 */
export function createClientSecretTableMigration(table: string): OAuth2MigrationClass {
  const name = `OAuth2CreateClientSecretTable_${table}_${SECRET_TABLE_WRITTEN_AT}`;

  class CreateClientSecretTable implements MigrationInterface {
    readonly name = name;

    async up(queryRunner: QueryRunner): Promise<void> {
      const collating = COLLATING_DRIVERS.has(queryRunner.connection.driver.options.type);
      const exact = (charset: string) =>
        collating ? { charset, collation: `${charset}_bin` } : {};
      const { Table, TableIndex } = schemaClasses();
      await queryRunner.createTable(
        new Table({
          name: table,
          columns: [
            { name: 'id', type: 'varchar', length: '40', isPrimary: true, ...exact('ascii') },
            { name: 'client_id', type: 'varchar', length: '80', ...exact('utf8mb4') },
            { name: 'secret_hash', type: 'varchar', length: '255' },
            { name: 'created_at', type: 'bigint' },
            { name: 'expires_at', type: 'bigint', isNullable: true },
            { name: 'last_used_at', type: 'bigint', isNullable: true },
          ],
          indices: [
            new TableIndex({
              // The name TypeORM gives the entity's @Index(), so the schema matches the entity exactly.
              name: queryRunner.connection.namingStrategy.indexName(table, ['client_id']),
              columnNames: ['client_id'],
            }),
          ],
        }),
      );
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      await queryRunner.dropTable(table);
    }
  }

  Object.defineProperty(CreateClientSecretTable, 'name', { value: name });
  return CreateClientSecretTable;
}
