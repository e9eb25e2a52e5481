import { clientTableName, type OAuth2ClientTableOptions } from '../clients/oauth-client.entity.js';
import { clientIdBinaryCollationMigration } from './client-id-binary-collation.migration.js';
import {
  createClientTableMigration,
  type OAuth2MigrationClass,
} from './create-client-table.migration.js';

/** Which table `oauth2Migrations()` manages: the same extras as the module's. */
export type OAuth2MigrationsOptions = OAuth2ClientTableOptions;

const byTable = new Map<string, readonly OAuth2MigrationClass[]>();

/**
 * The module's TypeORM migrations for one client table, oldest first, for the `migrations` option of a
 * DataSource (next to the app's own) or `nest-oauth2 migrate`. Give the same `tableName`/`tablePrefix` as to
 * `OAuth2Module`. Each call for one table returns the same classes, so listing them twice cannot make TypeORM
 * see two migrations.
 *
 * ```ts
 * TypeOrmModule.forRoot({ ..., migrations: [...oauth2Migrations(), ...ownMigrations], migrationsRun: true })
 * ```
 */
export function oauth2Migrations(tables: OAuth2MigrationsOptions = {}): OAuth2MigrationClass[] {
  const table = clientTableName(tables);
  let migrations = byTable.get(table);
  if (!migrations) {
    migrations = [createClientTableMigration(table), clientIdBinaryCollationMigration(table)];
    byTable.set(table, migrations);
  }
  return [...migrations];
}
