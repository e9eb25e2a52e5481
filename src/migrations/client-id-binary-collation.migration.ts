import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { OAuth2MigrationClass } from './create-client-table.migration.js';

/** When this migration was written: after the table's creation, so TypeORM runs it second. */
const WRITTEN_AT = 1795996800000;

/** Drivers that compare strings by a collation, case-insensitive by default (utf8mb4_general_ci, …_0900_ai_ci). */
export const COLLATING_DRIVERS: ReadonlySet<string> = new Set(['mysql', 'mariadb', 'aurora-mysql']);

interface ClientIdColumn {
  /** `varchar(80)`: the type as declared, kept as it is. */
  COLUMN_TYPE: string;
  IS_NULLABLE: 'YES' | 'NO';
  CHARACTER_SET_NAME: string | null;
  COLLATION_NAME: string | null;
}

/**
 * The migration that makes `client_id` of table `table` compare exactly on MariaDB/MySQL (RFC 6749 §2.2: a
 * client id is a case-sensitive string), by giving the column its character set's binary collation
 * (`utf8mb4_bin`). PostgreSQL and SQLite compare exactly already: there it does nothing.
 *
 * It alters the column only when its collation is not binary yet, so a table this module created and an
 * adopted legacy table (the seed's DDL takes the database's case-insensitive default) both get exact
 * comparison, and a column already binary sees no DDL. The type, length, character set and nullability stay as
 * they are, and so do the rows: no two ids that were distinct before become equal.
 *
 * A PAD SPACE `_bin` collation (utf8mb4_bin, on MariaDB and MySQL alike) still finds `'id'` for `'id '`: the
 * TypeORM repository checks the id it read back, which also keeps a table that was never migrated exact.
 *
 * Reverting leaves the column as it is: case-insensitive ids were never what this module wanted, and running
 * the migration again then finds the column binary and does nothing.
 */
export function clientIdBinaryCollationMigration(table: string): OAuth2MigrationClass {
  const name = `OAuth2ClientIdBinaryCollation_${table}_${WRITTEN_AT}`;

  class ClientIdBinaryCollation implements MigrationInterface {
    readonly name = name;

    async up(queryRunner: QueryRunner): Promise<void> {
      if (!COLLATING_DRIVERS.has(queryRunner.connection.driver.options.type)) return;
      const rows: ClientIdColumn[] = await queryRunner.query(
        'SELECT COLUMN_TYPE, IS_NULLABLE, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS ' +
          "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'client_id'",
        [table],
      );
      const [column] = rows;
      if (!column) throw new Error(`${name}: table ${table} has no client_id column`);
      const { COLUMN_TYPE: type, CHARACTER_SET_NAME: charset, COLLATION_NAME: collation } = column;
      // No collation: a binary string type (VARBINARY), exact already.
      if (charset === null || collation === null || collation.endsWith('_bin')) return;
      const nullability = column.IS_NULLABLE === 'NO' ? 'NOT NULL' : 'NULL';
      // `table` passed oauthClientEntity()'s identifier check; `type` and `charset` are the server's own words.
      await queryRunner.query(
        `ALTER TABLE \`${table}\` MODIFY \`client_id\` ${type} ` +
          `CHARACTER SET ${charset} COLLATE ${charset}_bin ${nullability}`,
      );
    }

    async down(): Promise<void> {}
  }

  Object.defineProperty(ClientIdBinaryCollation, 'name', { value: name });
  return ClientIdBinaryCollation;
}
