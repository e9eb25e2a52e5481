import { Logger, type LoggerService } from '@nestjs/common';
import type { DataSource, ObjectLiteral, QueryRunner, Repository } from 'typeorm';
import { DEFAULT_CLIENT_TABLE } from '../clients/oauth-client.entity.js';
import { describeStorageError } from '../errors/storage-error.js';
import { readForAudit } from '../observability/audit-read.js';
import type { OAuth2LogFields } from '../observability/log-fields.js';
import { typeOrm } from '../storage/optional-typeorm.js';
import type { OAuth2TypeOrmRepositories } from '../storage/typeorm-repositories.js';
import { oauth2Migrations, type OAuth2MigrationsOptions } from './oauth2-migrations.js';

/** How to create the module's tables: the CLI, or the migrations in the app's DataSource. */
export const MIGRATE_ADVICE =
  "run `npx nest-oauth2 migrate`, or add `oauth2Migrations()` to the DataSource's `migrations` with " +
  '`migrationsRun: true`';

/** The module's migrations as TypeORM's `migrations` table records them, oldest first. */
export interface OAuth2MigrationState {
  applied: string[];
  pending: string[];
}

/** What the start-up check found, for the start-up line: `{}` without TypeORM storage. */
export const OAUTH2_STORAGE_REPORT = Symbol('OAUTH2:STORAGE_REPORT');

/** What the start-up check found; `migrations` undefined: they could not be read. */
export interface OAuth2StorageReport {
  migrations?: OAuth2MigrationState;
}

export interface OAuth2StorageCheckSettings {
  repositories: OAuth2TypeOrmRepositories;
  /** The module's `tableName`/`tablePrefix`, for the entity advice and the migration names. */
  tables: OAuth2MigrationsOptions;
  /** The DataSource's name as given to the module; undefined: the default one. */
  dataSource: string | undefined;
  /** The module's `storageTimeoutMs`: the check never holds start-up longer than that. */
  timeoutMs: number;
  logger?: LoggerService;
}

type Table = keyof OAuth2TypeOrmRepositories;
const READS: Record<Table, string> = {
  clients: 'the clients',
  clientSecrets: "the clients' further secrets",
  signingKeys: 'the signing keys of the TypeORM key store (`keyStore: true`)',
};

/**
 * Checks, once at start-up, that the TypeORM storage in use can work, so a misconfiguration is told at once
 * and not by a 503 on every token request whose log says only `EntityMetadataNotFoundError` or
 * `QueryFailedError`:
 *
 * - an entity missing from the DataSource fails start-up: only a change of the app's code mends it, and the
 *   error says what to add;
 * - a missing client table or column is logged as an error (`oauth2.storage.not_migrated`) naming the tables
 *   and the fix, and the app starts: the migrations may run after it (a deploy step, `nest-oauth2 migrate` by
 *   hand), and from then on it serves tokens without a restart, while JWKS, discovery and the bearer guard of
 *   the host app's routes never needed the tables. The signing key table is the exception: without it the key
 *   store has no key to sign with and start-up fails anyway, so it fails here, with the fix;
 * - a database that cannot be read now (down, not initialized, slower than `storageTimeoutMs`) is logged as a
 *   warning (`oauth2.storage.unchecked`) and start-up goes on: the storage may heal, and requests answer 503
 *   until it does.
 *
 * The module's migrations that TypeORM recorded as applied, and the pending ones, are returned for the
 * start-up line.
 */
export async function checkTypeOrmStorage({
  repositories,
  tables,
  dataSource: name = 'default',
  timeoutMs,
  logger = new Logger('OAuth2'),
}: OAuth2StorageCheckSettings): Promise<OAuth2StorageReport> {
  const used = (Object.entries(repositories) as [Table, Repository<ObjectLiteral>][]).filter(
    ([, repository]) => repository !== undefined,
  );
  if (used.length === 0) return {};
  const dataSource = used[0][1].manager.connection;
  const unchecked = (reason: string) => {
    logger.warn(
      `The module could not check its tables at start-up (${reason}): it starts anyway, and token ` +
        'requests answer 503 until the database answers',
      { event: 'oauth2.storage.unchecked', dataSource: name, reason } satisfies OAuth2LogFields,
    );
    return {};
  };
  if (!dataSource.isInitialized) return unchecked('the DataSource is not initialized');

  const unknown = used.filter(([, repository]) => !dataSource.hasMetadata(repository.target));
  if (unknown.length > 0) throw new Error(entityAdvice(unknown, tables, name));

  const read = await readForAudit(() => inspect(dataSource, used, tables), timeoutMs);
  if ('timedOut' in read) return unchecked(`no answer within ${timeoutMs} ms`);
  if ('failed' in read) return unchecked(describeStorageError(read.failed));
  const { missingTables, missingColumns, migrations: recorded } = read.value;
  const migrations = 'failed' in recorded ? undefined : recorded;
  if ('failed' in recorded) {
    // The tables were read: what they lack is still told below; only the migrations go untold.
    const reason = describeStorageError(recorded.failed);
    logger.warn(
      `The module could not read which of its migrations TypeORM recorded (${reason}): the start-up ` +
        'line leaves them out',
      {
        event: 'oauth2.storage.migrations_unread',
        dataSource: name,
        reason,
      } satisfies OAuth2LogFields,
    );
  }

  if (missingTables.includes('signingKeys')) {
    throw new Error(
      `OAuth2Module: the DataSource "${name}" has no table ` +
        `${tableOf(repositories.signingKeys!)} for ${READS.signingKeys}: ${MIGRATE_ADVICE}`,
    );
  }
  if (missingTables.length > 0 || missingColumns.length > 0) {
    const absent = [
      ...missingTables.map(
        (table) => `no table ${tableOf(repositories[table]!)} (${READS[table]})`,
      ),
      ...(missingColumns.length > 0 ? [`no column ${missingColumns.join(', ')}`] : []),
    ];
    logger.error(
      `The DataSource "${name}" has ${absent.join(' and ')}: token requests answer 503 until the ` +
        `module's migrations are applied; ${MIGRATE_ADVICE}`,
      {
        event: 'oauth2.storage.not_migrated',
        dataSource: name,
        missingTables: missingTables.map((table) => tableOf(repositories[table]!)),
        missingColumns,
        pendingMigrations: migrations?.pending ?? null,
      } satisfies OAuth2LogFields,
    );
  }
  return migrations === undefined ? {} : { migrations };
}

/** The table an entity maps, as the database names it. */
const tableOf = (repository: Repository<ObjectLiteral>) => repository.metadata.tableName;

/** What to add to the DataSource's `entities`, in the words of the module's own options. */
function entityAdvice(
  unknown: [Table, Repository<ObjectLiteral>][],
  { tableName, tablePrefix }: OAuth2MigrationsOptions,
  name: string,
): string {
  const names = unknown.map(
    ([table, { target }]) =>
      `${typeof target === 'function' ? target.name : String(target)} (${READS[table]})`,
  );
  const given = Object.entries({
    tableName: tableName === DEFAULT_CLIENT_TABLE ? undefined : tableName,
    tablePrefix: tablePrefix || undefined,
  }).filter(([, value]) => value !== undefined);
  const call =
    given.length === 0
      ? 'oauth2Entities()'
      : `oauth2Entities({ ${given.map(([key, value]) => `${key}: '${value}'`).join(', ')} })`;
  return (
    `OAuth2Module: the DataSource "${name}" has no entity ${names.join(', ')}: add ` +
    `\`entities: [...${call}, ...yourEntities]\` to its options (the same tableName/tablePrefix as the ` +
    "module's), or `autoLoadEntities: true` to TypeOrmModule.forRoot()"
  );
}

/** The tables and columns the entities need that the database lacks, and the module's migrations. */
async function inspect(
  dataSource: DataSource,
  used: [Table, Repository<ObjectLiteral>][],
  tables: OAuth2MigrationsOptions,
): Promise<{
  missingTables: Table[];
  missingColumns: string[];
  /** `failed`: the migrations table could not be read, which leaves the tables' findings standing. */
  migrations: OAuth2MigrationState | { failed: unknown };
}> {
  const runner = dataSource.createQueryRunner();
  try {
    const missingTables: Table[] = [];
    const missingColumns: string[] = [];
    for (const [table, { metadata }] of used) {
      const found = await runner.getTable(metadata.tablePath);
      if (!found) {
        missingTables.push(table);
        continue;
      }
      for (const { databaseName } of metadata.columns) {
        if (!found.findColumnByName(databaseName)) {
          missingColumns.push(`${metadata.tableName}.${databaseName}`);
        }
      }
    }
    const migrations = await recordedMigrations(dataSource, runner).then(
      (recorded) => {
        const names = oauth2Migrations(tables).map(
          (migration) => new migration().name ?? migration.name,
        );
        return {
          applied: names.filter((name) => recorded.has(name)),
          pending: names.filter((name) => !recorded.has(name)),
        };
      },
      (failed: unknown) => ({ failed }),
    );
    return { missingTables, missingColumns, migrations };
  } finally {
    await runner.release();
  }
}

/**
 * The names in TypeORM's migrations table; none while there is no table (before the first migration).
 *
 * The check only reads: before typeorm 0.3.29 (typeorm#11672) `getExecutedMigrations()` creates the table
 * when it is missing, which would be DDL on every boot and, for a database user allowed only to read and
 * write rows, a failed CREATE. So the table is looked up first, where the MigrationExecutor looks for it
 * (`migrationsTableName`, the driver's schema and database), and read only when it is there.
 */
async function recordedMigrations(
  dataSource: DataSource,
  runner: QueryRunner,
): Promise<Set<string>> {
  const { driver, options } = dataSource;
  const table = driver.buildTableName(
    options.migrationsTableName ?? 'migrations',
    (driver.options as { schema?: string }).schema,
    driver.database,
  );
  if (!(await runner.hasTable(table))) return new Set();
  const { MigrationExecutor } = typeOrm('the start-up check of the TypeORM storage');
  const executed = await new MigrationExecutor(dataSource, runner).getExecutedMigrations();
  return new Set(executed.map((migration) => migration.name));
}
