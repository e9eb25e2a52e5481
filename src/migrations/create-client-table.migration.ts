import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';
import { typeOrm } from '../storage/optional-typeorm.js';

/** TypeORM's schema classes (`Table`, …), loaded when a migration runs: typeorm is an optional peer. */
export const schemaClasses = () => typeOrm('oauth2Migrations()');

/**
 * When this migration was written: TypeORM orders migrations by the 13-digit JavaScript timestamp that ends
 * each name, so this one sorts among the host app's own by date.
 */
const WRITTEN_AT = 1795564800000;

/**
 * The columns of the seed's `oauth_clients` (bshaffer/oauth2-server-php), with the widths the OAuthClient
 * entity declares. Frozen here, not read from the entity: a migration must keep creating what it created the
 * day it shipped, whatever the entity later becomes.
 */
const COLUMNS: readonly TableColumnOptions[] = [
  { name: 'client_id', type: 'varchar', length: '80', isPrimary: true, isNullable: false },
  { name: 'client_secret', type: 'varchar', length: '255', isNullable: true },
  { name: 'redirect_uri', type: 'varchar', length: '2000', isNullable: true },
  { name: 'grant_types', type: 'varchar', length: '80', isNullable: true },
  { name: 'scope', type: 'varchar', length: '4000', isNullable: true },
  { name: 'user_id', type: 'varchar', length: '80', isNullable: true },
];

/** A migration class of `oauth2Migrations()`: TypeORM instantiates it without arguments. */
export type OAuth2MigrationClass = new () => MigrationInterface;

/**
 * The migration that creates the client table `table`. Its name carries the table, so two tables (another
 * prefix, say) are two migrations in TypeORM's `migrations` table.
 *
 * A table that already exists (a legacy seed table the module is pointed at) is adopted as it is: no DDL, once
 * its columns are checked. Reverting drops the table, clients and all.
 */
export function createClientTableMigration(table: string): OAuth2MigrationClass {
  const name = `OAuth2CreateClientTable_${table}_${WRITTEN_AT}`;

  class CreateClientTable implements MigrationInterface {
    readonly name = name;

    async up(queryRunner: QueryRunner): Promise<void> {
      const existing = await queryRunner.getTable(table);
      if (existing) {
        const missing = COLUMNS.map((column) => column.name).filter(
          (column) => !existing.findColumnByName(column),
        );
        if (missing.length > 0) {
          throw new Error(
            `${name}: table ${table} already exists without the column(s) ${missing.join(', ')}: ` +
              'it is not a client table this module can read',
          );
        }
        return;
      }
      await queryRunner.createTable(
        new (schemaClasses().Table)({ name: table, columns: [...COLUMNS] }),
      );
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      await queryRunner.dropTable(table);
    }
  }

  Object.defineProperty(CreateClientTable, 'name', { value: name });
  return CreateClientTable;
}
