import {
  DataSource,
  MigrationExecutor,
  type Logger as TypeOrmLogger,
  type Table,
  type TableColumn,
} from 'typeorm';
import {
  ClientSecretHasher,
  DEFAULT_CLIENT_TABLE,
  oauth2Entities,
  oauth2TableNames,
  OAuthClientRepository,
  TypeOrmOAuth2KeyStore,
  TypeOrmOAuthClientRepository,
  type OAuth2KeyStore,
  type OAuth2MigrationsOptions,
  type OAuth2TableNames,
} from '../index.js';
import { CliError } from './cli-error.js';
import { typeOrmClientTable, type ClientTable } from './client-table.js';
import { databaseOptionsFromUrl, redactDatabaseUrl } from './database-url.js';
import { KEK_VARIABLES, keyEncryptionKeysFromEnv, type Env } from './env-settings.js';

/** The narrowest client_secret column that holds every hash format (the seed's VARCHAR(80)). */
const MIN_SECRET_COLUMN_WIDTH = 80;
/** The width the migrations give client_secret, and the one to widen a narrow column to. */
const SECRET_COLUMN_WIDTH = 255;

export interface TableSettings extends Required<OAuth2MigrationsOptions> {
  /** The full names: prefix and name. */
  tables: OAuth2TableNames;
}

/** --table/--table-prefix, else OAUTH2_CLIENT_TABLE/OAUTH2_TABLE_PREFIX, else the module's defaults. */
export function tableSettings(
  flags: { table?: string; prefix?: string },
  env: Readonly<Record<string, string | undefined>>,
): TableSettings {
  const tableName = flags.table ?? (env.OAUTH2_CLIENT_TABLE || DEFAULT_CLIENT_TABLE);
  const tablePrefix = flags.prefix ?? (env.OAUTH2_TABLE_PREFIX || '');
  try {
    return { tableName, tablePrefix, tables: oauth2TableNames({ tableName, tablePrefix }) };
  } catch (error) {
    const from =
      `${flags.table === undefined ? 'OAUTH2_CLIENT_TABLE' : '--table'} and ` +
      `${flags.prefix === undefined ? 'OAUTH2_TABLE_PREFIX' : '--table-prefix'}`;
    const message = `${(error as Error).message} (from ${from})`;
    throw flags.table === undefined && flags.prefix === undefined
      ? new CliError(message)
      : CliError.usage(message);
  }
}

/** TypeORM's migration messages go to the console whatever `logging` says: the CLI prints its own. */
const SILENT: TypeOrmLogger = {
  logQuery() {},
  logQueryError() {},
  logQuerySlow() {},
  logSchemaBuild() {},
  logMigration() {},
  log() {},
};

export async function openDatabase(
  databaseUrl: string,
  cwd: string,
  tables: TableSettings,
  warn: (message: string) => void,
): Promise<DataSource> {
  const options = databaseOptionsFromUrl(databaseUrl, cwd, tables, { warn });
  let dataSource: DataSource;
  try {
    // The constructor loads the driver package, which may be missing.
    dataSource = new DataSource({ ...options, logger: SILENT });
    await dataSource.initialize();
  } catch (error) {
    throw new CliError(
      `cannot open the database ${redactDatabaseUrl(databaseUrl)}: ${messageOf(error)}`,
    );
  }
  return dataSource;
}

/** The names of the module's migrations not yet applied; reads TypeORM's table without creating it. */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const pending = await new MigrationExecutor(dataSource).getPendingMigrations();
  return pending.map((migration) => migration.name);
}

/** Applies the pending migrations and returns their names. */
export async function applyMigrations(dataSource: DataSource): Promise<string[]> {
  try {
    // One transaction per migration: MySQL and MariaDB commit on DDL anyway.
    return (await dataSource.runMigrations({ transaction: 'each' })).map((m) => m.name);
  } catch (error) {
    throw new CliError(`migration failed: ${messageOf(error)}`);
  }
}

/** The client table, as a repository and for bulk reads. */
export interface ClientStorage {
  repository: OAuthClientRepository;
  table: ClientTable;
  /** Set when SQLite declares client_secret narrower than a hash: it stores the hash in full anyway. */
  warning?: string;
}

/**
 * The client table as a repository, with the table of the clients' further secrets. The client commands never
 * change the schema: a database without the tables, or a client table without the columns the entity maps (a
 * seed table the lifecycle migration has not extended), is one `migrate` has not prepared (or the wrong
 * database), and saying so beats an SQL error or creating an empty table in it.
 */
export async function clientStorage(
  dataSource: DataSource,
  {
    url,
    tables,
    hashesSecrets,
    hasher,
  }: { url: string; tables: TableSettings; hashesSecrets: boolean; hasher: ClientSecretHasher },
): Promise<ClientStorage> {
  const table = tables.tables.clients;
  const [clients, , secrets] = oauth2Entities(tables);
  const found = await migratedTable(dataSource, url, table);
  const secretColumn = found.findColumnByName('client_secret');
  if (!secretColumn) throw new CliError(`table ${table} has no client_secret column`);
  const narrow = hashesSecrets ? narrowSecretColumn(dataSource, found, secretColumn) : undefined;
  const missing = dataSource
    .getMetadata(clients)
    .columns.map((column) => column.databaseName)
    .filter((name) => !found.findColumnByName(name));
  if (missing.length > 0) {
    throw new CliError(
      `table ${table} has no column ${missing.join(', ')}: run \`nest-oauth2 migrate\` first`,
    );
  }
  await migratedTable(dataSource, url, tables.tables.clientSecrets);
  return {
    repository: new TypeOrmOAuthClientRepository(
      dataSource.getRepository(clients),
      dataSource.getRepository(secrets),
    ),
    table: typeOrmClientTable(
      dataSource.getRepository(clients),
      dataSource.getRepository(secrets),
      hasher,
    ),
    warning: narrow,
  };
}

/**
 * A hash written to a client_secret narrower than a hash fails (PostgreSQL, strict MySQL) or, on a lax MySQL,
 * is cut short and locks the client out: refused, with the statement that widens it. SQLite stores a value in
 * full whatever the declared width: a warning only.
 */
function narrowSecretColumn(
  dataSource: DataSource,
  table: Table,
  column: TableColumn,
): string | undefined {
  const width = Number(column.length);
  if (!column.length || !(width < MIN_SECRET_COLUMN_WIDTH)) return undefined;
  const name = `${table.name}.client_secret`;
  const type = dataSource.options.type;
  if (type === 'better-sqlite3') {
    return (
      `${name} is declared VARCHAR(${width}), narrower than a hash (${MIN_SECRET_COLUMN_WIDTH}); SQLite ` +
      'does not enforce it and stores each hash in full, but a copy of this schema elsewhere would not'
    );
  }
  throw new CliError(
    `${name} holds at most ${width} characters and a hash needs ${MIN_SECRET_COLUMN_WIDTH}: widen ` +
      `it first (nothing was written): ${widenStatement(dataSource, table, column)}`,
  );
}

/** The ALTER TABLE that widens client_secret to VARCHAR(255) on this database, keeping the rest of it. */
function widenStatement(dataSource: DataSource, table: Table, column: TableColumn): string {
  const type = `VARCHAR(${SECRET_COLUMN_WIDTH})`;
  if (dataSource.options.type === 'postgres') {
    // Table names are checked identifiers; quoted, as TypeORM created them.
    const qualified = table.name
      .split('.')
      .map((part) => `"${part}"`)
      .join('.');
    return `ALTER TABLE ${qualified} ALTER COLUMN "client_secret" TYPE ${type};`;
  }
  // MODIFY restates the whole column: its character set, collation and NULL-ness are kept.
  const charset = column.charset ? ` CHARACTER SET ${column.charset}` : '';
  const collation = column.collation ? ` COLLATE ${column.collation}` : '';
  const nullable = column.isNullable ? 'NULL' : 'NOT NULL';
  return (
    `ALTER TABLE \`${table.name.split('.').pop()}\` MODIFY \`client_secret\` ` +
    `${type}${charset}${collation} ${nullable};`
  );
}

/**
 * The signing key table as a TypeORM key store, with the key encryption keys of the environment (the same
 * variables as the server's). Refused without OAUTH2_KEY_ENCRYPTION_KEY: the CLI must seal keys the servers
 * open, and check that they open before one becomes active.
 */
export async function keyStore(
  dataSource: DataSource,
  { url, tables, env }: { url: string; tables: TableSettings; env: Env },
): Promise<OAuth2KeyStore> {
  let keys: ReturnType<typeof keyEncryptionKeysFromEnv>;
  try {
    keys = keyEncryptionKeysFromEnv(env);
  } catch (error) {
    throw new CliError(messageOf(error));
  }
  if (keys.current === undefined) {
    throw new CliError(
      `the key commands need ${KEK_VARIABLES.current}, the key encryption key the servers use ` +
        '(32+ random bytes as 64+ hex characters or base64, e.g. `openssl rand -hex 32`)',
    );
  }
  await migratedTable(dataSource, url, tables.tables.signingKeys);
  return new TypeOrmOAuth2KeyStore(dataSource.getRepository(oauth2Entities(tables)[1]), {
    keyEncryptionKey: keys.current,
    previousKeyEncryptionKeys: keys.previous,
    keyEncryptionKeyNames: KEK_VARIABLES,
  });
}

/** The table as the database describes it; refused when `migrate` has not created it. */
async function migratedTable(dataSource: DataSource, url: string, table: string) {
  const queryRunner = dataSource.createQueryRunner();
  try {
    const found = await queryRunner.getTable(table);
    if (!found) {
      throw new CliError(
        `the database ${redactDatabaseUrl(url)} has no table ${table}: run \`nest-oauth2 migrate\` first`,
      );
    }
    return found;
  } finally {
    await queryRunner.release();
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
