import { DataSource, type DataSourceOptions } from 'typeorm';
import { oauth2Entities, oauth2Migrations, type OAuth2MigrationsOptions } from '../../src/index.js';

/** The seed's DDL (bshaffer/oauth2-server-php, yii2-oauth2-server), as a legacy database holds it. */
export const SEED_COLUMNS =
  'client_id VARCHAR(80) NOT NULL PRIMARY KEY, client_secret VARCHAR(80), redirect_uri VARCHAR(2000), ' +
  'grant_types VARCHAR(80), scope VARCHAR(4000), user_id VARCHAR(80)';

/**
 * The table's name for raw SQL: on PostgreSQL qualified by the test's own schema, which TypeORM's `schema`
 * option applies to its own queries only (the connection's search_path stays the default).
 */
export function rawTable(options: DataSourceOptions, table: string): string {
  return options.type === 'postgres' && options.schema ? `"${options.schema}".${table}` : table;
}

/**
 * Creates `table` with the seed's DDL (or a variant of it) and inserts rows of (client_id, client_secret,
 * scope).
 */
export async function createSeedTable(
  dataSource: DataSource,
  table: string,
  rows: ReadonlyArray<readonly [string, string | null, string | null]> = [],
  columns = SEED_COLUMNS,
): Promise<void> {
  const name = rawTable(dataSource.options, table);
  await dataSource.query(`CREATE TABLE ${name} (${columns})`);
  for (const [clientId, secret, scope] of rows) {
    await dataSource.query(
      `INSERT INTO ${name} (client_id, client_secret, scope) VALUES (${placeholders(dataSource, 3)})`,
      [clientId, secret, scope],
    );
  }
}

/** The stored client_secret of one row, read with plain SQL. */
export async function storedSecret(
  dataSource: DataSource,
  table: string,
  clientId: string,
): Promise<string | null | undefined> {
  const rows: Array<{ client_secret: string | null }> = await dataSource.query(
    `SELECT client_secret FROM ${rawTable(dataSource.options, table)} WHERE client_id = ${placeholders(dataSource, 1)}`,
    [clientId],
  );
  return rows[0]?.client_secret;
}

/** `$1, $2` on PostgreSQL, `?, ?` elsewhere. */
function placeholders(dataSource: DataSource, count: number): string {
  const postgres = dataSource.options.type === 'postgres';
  return Array.from({ length: count }, (_, i) => (postgres ? `$${i + 1}` : '?')).join(', ');
}

/**
 * Runs the module's migrations over a database that holds a seed table (`tables` names it as the module is
 * told), through a DataSource of its own; returns the names of the migrations applied.
 */
export async function migrateSeedTable(
  options: DataSourceOptions,
  tables: OAuth2MigrationsOptions = {},
): Promise<string[]> {
  const dataSource = new DataSource({
    ...options,
    entities: oauth2Entities(tables),
    migrations: oauth2Migrations(tables),
  } as DataSourceOptions);
  await dataSource.initialize();
  try {
    return (await dataSource.runMigrations({ transaction: 'each' })).map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}
