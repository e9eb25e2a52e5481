import type { QueryRunner, TableColumnOptions } from 'typeorm';
import { COLLATING_DRIVERS } from './client-id-binary-collation.migration.js';
import { schemaClasses, type OAuth2MigrationClass } from './create-client-table.migration.js';

/** When this migration was written: after the client table's two, so TypeORM runs it third. */
const WRITTEN_AT = 1796601600000;

/**
 * The columns of the key table as the OAuthStoredKey entity declares them, frozen here: a migration keeps
 * creating what it created the day it shipped. Times are BIGINT milliseconds since the epoch, which every
 * database stores and returns alike.
 */
function columns(collating: boolean): TableColumnOptions[] {
  return [
    {
      name: 'kid',
      type: 'varchar',
      length: '64',
      isPrimary: true,
      isNullable: false,
      // RFC 7638 thumbprints are case-sensitive base64url: ASCII, compared byte for byte.
      ...(collating ? { charset: 'ascii', collation: 'ascii_bin' } : {}),
    },
    { name: 'alg', type: 'varchar', length: '16', isNullable: false },
    { name: 'state', type: 'varchar', length: '16', isNullable: false },
    { name: 'sealed_private_key', type: 'text', isNullable: false },
    { name: 'public_jwk', type: 'text', isNullable: false },
    { name: 'created_at', type: 'bigint', isNullable: false },
    { name: 'activated_at', type: 'bigint', isNullable: true },
    { name: 'retired_at', type: 'bigint', isNullable: true },
  ];
}

/**
 * The migration that creates the signing key table `table` of the TypeORM key store. Reverting drops it, and
 * every key in it: tokens they signed stop verifying.
 */
export function createSigningKeyTableMigration(table: string): OAuth2MigrationClass {
  const name = `OAuth2CreateSigningKeyTable_${table}_${WRITTEN_AT}`;

  class CreateSigningKeyTable {
    readonly name = name;

    async up(queryRunner: QueryRunner): Promise<void> {
      const collating = COLLATING_DRIVERS.has(queryRunner.connection.driver.options.type);
      await queryRunner.createTable(
        new (schemaClasses().Table)({ name: table, columns: columns(collating) }),
      );
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      await queryRunner.dropTable(table);
    }
  }

  Object.defineProperty(CreateSigningKeyTable, 'name', { value: name });
  return CreateSigningKeyTable;
}
