import { DataSource, MigrationExecutor, type Logger as TypeOrmLogger } from 'typeorm';
import {
  ClientSecretHasher,
  DEFAULT_CLIENT_TABLE,
  OAuthClientRepository,
  oauthClientEntity,
  TypeOrmOAuthClientRepository,
  type OAuth2MigrationsOptions,
} from '../index.js';
import { parseCommandLine, type CommandSpec, type ParsedCommand } from './cli-args.js';
import { CliError, USAGE_EXIT_CODE } from './cli-error.js';
import {
  checkCreateInput,
  ClientCommands,
  type ClientView,
  type CreateClientInput,
  type LegacySecretsResult,
  type SecretResult,
} from './client-commands.js';
import {
  databaseOptionsFromUrl,
  DEFAULT_DATABASE_URL,
  redactDatabaseUrl,
  redactPassword,
} from './database-url.js';

/** Where runCli writes and what it reads of its process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /**
   * Read for DATABASE_URL, OAUTH2_SECRET_PEPPER, OAUTH2_CLIENT_TABLE and OAUTH2_TABLE_PREFIX.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where a relative sqlite path is resolved from. @default process.cwd() */
  cwd?: string;
}

export interface CliDependencies {
  /** Client storage. @default a DataSource opened from DATABASE_URL, closed before runCli returns */
  repository?: OAuthClientRepository;
  /** @default a new ClientSecretHasher */
  hasher?: ClientSecretHasher;
}

const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  migrate: { options: { show: 'boolean' }, positionals: [] },
  'client create': {
    options: {
      id: 'string',
      secret: 'string',
      public: 'boolean',
      'grant-types': 'string',
      scope: 'string',
      'user-id': 'string',
      'redirect-uri': 'string',
    },
    positionals: [],
  },
  'client list': { options: {}, positionals: [] },
  'client show': { options: {}, positionals: ['a client id'] },
  'client rotate-secret': { options: {}, positionals: ['a client id'] },
  'client delete': { options: {}, positionals: ['a client id'] },
  'client hash-legacy-secrets': { options: {}, positionals: [] },
};

/** The narrowest client_secret column that holds every hash format (the seed's VARCHAR(80)). */
const MIN_SECRET_COLUMN_WIDTH = 80;

export const USAGE = `Usage: nest-oauth2 <command> [options]

Manages the OAuth 2.0 clients in the database that DATABASE_URL names: sqlite:<path>
(default ${DEFAULT_DATABASE_URL}), postgres://…[?schema=<name>], postgresql://…, mysql://… or
mariadb://…. A generated secret is stored as a keyed digest (HMAC-SHA-256, peppered with
OAUTH2_SECRET_PEPPER when set), a chosen one (--secret) as a scrypt hash; a generated secret is shown
once and cannot be shown again.

Commands:
  migrate                    Create or update the client table: apply the module's pending
                             migrations. Run it once before the client commands, and after
                             an upgrade of the library.
  migrate --show             List the pending migrations, applying nothing.
  client create --id <id> [--secret <secret> | --public] [--grant-types <list>]
                [--scope <list>] [--user-id <id>] [--redirect-uri <uri>]
                             Register a client. Without --secret or --public a secret is
                             generated and printed once. --grant-types defaults to
                             "client_credentials"; lists are space-separated.
  client list                List the clients.
  client show <id>           Show one client.
  client rotate-secret <id>  Give a confidential client a new generated secret, printed once.
  client delete <id>         Delete a client.
  client hash-legacy-secrets Replace every plaintext secret (as oauth2-server-php and
                             yii2-oauth2-server stored them) by its scrypt hash; the
                             clients keep their secrets. Prints how many it hashed.

Options:
  --table <name>          The client table (env OAUTH2_CLIENT_TABLE). Default: ${DEFAULT_CLIENT_TABLE}
  --table-prefix <prefix> Prefix of its name, as yii2's tablePrefix (env OAUTH2_TABLE_PREFIX).
  --json                  Print the result as JSON on stdout.
  -h, --help              Show this help.

Exit status: 0 on success, 1 when the command failed, 2 when the command line is wrong.
`;

const STORE_IT_NOW = 'Store it now: it cannot be shown again.';

/**
 * Runs one command line (`argv` without the node and script paths) and resolves to the exit status. Expected
 * failures are one line on stderr, never a stack trace; a secret's hash is never printed.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  dependencies: CliDependencies = {},
): Promise<number> {
  const env = io.env ?? process.env;
  const databaseUrl = env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const cwd = io.cwd ?? process.cwd();
  const fail = (error: unknown): number => {
    const usage = error instanceof CliError && error.exitCode === USAGE_EXIT_CODE;
    const hint = usage ? ' (see nest-oauth2 --help)' : '';
    io.stderr(`nest-oauth2: ${oneLine(messageOf(error), databaseUrl)}${hint}\n`);
    return error instanceof CliError ? error.exitCode : 1;
  };

  let database: OpenDatabase | undefined;
  let status: number;
  try {
    const command = parseCommandLine(argv, COMMANDS);
    if (command === 'help') {
      io.stdout(USAGE);
      return 0;
    }
    const tables = tableSettings(command, env);
    const output = new Output(io, command.json);
    if (command.words[0] === 'migrate') {
      database = await openDatabase(databaseUrl, cwd, tables);
      await migrate(database.dataSource, command.values.show === true, output);
    } else {
      const run = prepare(command);
      let repository = dependencies.repository;
      if (repository === undefined) {
        database = await openDatabase(databaseUrl, cwd, tables);
        repository = await clientRepository(database, {
          hashesSecrets: command.words[1] === 'hash-legacy-secrets',
        });
      }
      const hasher =
        dependencies.hasher ??
        new ClientSecretHasher({ pepper: env.OAUTH2_SECRET_PEPPER || undefined });
      await run(new ClientCommands(repository, hasher), output);
    }
    status = 0;
  } catch (error) {
    status = fail(error);
  }
  try {
    await database?.dataSource.destroy();
  } catch (error) {
    status = Math.max(status, fail(error));
  }
  return status;
}

type Run = (commands: ClientCommands, output: Output) => Promise<void>;

/** The command's action, after the checks that need no database. */
function prepare({ words, values, positionals }: ParsedCommand): Run {
  const [clientId] = positionals;
  switch (words[1]) {
    case 'create': {
      const input: CreateClientInput = {
        clientId: values.id as string | undefined,
        secret: values.secret as string | undefined,
        isPublic: values.public === true,
        grantTypes: values['grant-types'] as string | undefined,
        scope: values.scope as string | undefined,
        userId: values['user-id'] as string | undefined,
        redirectUri: values['redirect-uri'] as string | undefined,
      };
      checkCreateInput(input);
      return async (commands, output) => output.created(await commands.create(input));
    }
    case 'list':
      return async (commands, output) => output.list(await commands.list());
    case 'show':
      return async (commands, output) => output.client(await commands.show(clientId));
    case 'rotate-secret':
      return async (commands, output) => output.rotated(await commands.rotateSecret(clientId));
    case 'delete':
      return async (commands, output) => {
        await commands.delete(clientId);
        output.deleted(clientId);
      };
    case 'hash-legacy-secrets':
      return async (commands, output) => output.hashed(await commands.hashLegacySecrets());
    default:
      throw CliError.usage(`unknown command '${words.join(' ')}'`);
  }
}

interface TableSettings extends Required<OAuth2MigrationsOptions> {
  /** The full name: prefix and name. */
  table: string;
}

/** --table/--table-prefix, else OAUTH2_CLIENT_TABLE/OAUTH2_TABLE_PREFIX, else the module's defaults. */
function tableSettings(
  { values }: ParsedCommand,
  env: Readonly<Record<string, string | undefined>>,
): TableSettings {
  const flagName = values.table as string | undefined;
  const flagPrefix = values['table-prefix'] as string | undefined;
  const tableName = flagName ?? (env.OAUTH2_CLIENT_TABLE || DEFAULT_CLIENT_TABLE);
  const tablePrefix = flagPrefix ?? (env.OAUTH2_TABLE_PREFIX || '');
  const table = tablePrefix + tableName;
  try {
    if (tableName === '') throw new Error('empty');
    oauthClientEntity(table);
  } catch {
    const message =
      `'${table}' is not a valid table name (from ${flagName === undefined ? 'OAUTH2_CLIENT_TABLE' : '--table'}` +
      ` and ${flagPrefix === undefined ? 'OAUTH2_TABLE_PREFIX' : '--table-prefix'}): ` +
      'use letters, digits and _, at most 63 characters, not starting with a digit';
    throw flagName === undefined && flagPrefix === undefined
      ? new CliError(message)
      : CliError.usage(message);
  }
  return { tableName, tablePrefix, table };
}

interface OpenDatabase {
  dataSource: DataSource;
  url: string;
  table: string;
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

async function openDatabase(
  databaseUrl: string,
  cwd: string,
  tables: TableSettings,
): Promise<OpenDatabase> {
  const options = databaseOptionsFromUrl(databaseUrl, cwd, tables);
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
  return { dataSource, url: databaseUrl, table: tables.table };
}

/** `migrate` and `migrate --show`: the module's migrations for the chosen table. */
async function migrate(dataSource: DataSource, show: boolean, output: Output): Promise<void> {
  if (show) {
    // Reads TypeORM's migrations table without creating it.
    const pending = await new MigrationExecutor(dataSource).getPendingMigrations();
    return output.pending(pending.map((migration) => migration.name));
  }
  let applied: string[];
  try {
    // One transaction per migration: MySQL and MariaDB commit on DDL anyway.
    applied = (await dataSource.runMigrations({ transaction: 'each' })).map((m) => m.name);
  } catch (error) {
    throw new CliError(`migration failed: ${messageOf(error)}`);
  }
  output.migrated(applied);
}

/**
 * The client table as a repository. The client commands never change the schema: a database without the
 * table is one `migrate` has not prepared (or the wrong database), and saying so beats creating an empty
 * table in it. A legacy table that exists is used as it is, migrated or not.
 */
async function clientRepository(
  { dataSource, url, table }: OpenDatabase,
  { hashesSecrets }: { hashesSecrets: boolean },
): Promise<OAuthClientRepository> {
  const queryRunner = dataSource.createQueryRunner();
  try {
    const found = await queryRunner.getTable(table);
    if (!found) {
      throw new CliError(
        `the database ${redactDatabaseUrl(url)} has no table ${table}: run \`nest-oauth2 migrate\` first`,
      );
    }
    const secretColumn = found.findColumnByName('client_secret');
    if (!secretColumn) throw new CliError(`table ${table} has no client_secret column`);
    // A hash written to a narrower column fails, or on a lax MySQL is cut short and locks the client out.
    const width = Number(secretColumn.length);
    if (hashesSecrets && secretColumn.length && width < MIN_SECRET_COLUMN_WIDTH) {
      throw new CliError(
        `${table}.client_secret holds at most ${width} characters and a hash needs ` +
          `${MIN_SECRET_COLUMN_WIDTH}: widen it first (VARCHAR(255), as the migrations create it)`,
      );
    }
  } finally {
    await queryRunner.release();
  }
  return new TypeOrmOAuthClientRepository(dataSource.getRepository(oauthClientEntity(table)));
}

/** Writes results for people, or as JSON with `--json`; warnings go to stderr either way. */
class Output {
  constructor(
    private readonly io: CliIo,
    private readonly json: boolean,
  ) {}

  created({ client, secret, warnings }: SecretResult): void {
    this.warn(warnings);
    if (this.json) return this.writeJson(secret ? { ...client, client_secret: secret } : client);
    this.io.stdout(`Created ${client.client_type} client '${safe(client.client_id)}'.\n`);
    this.io.stdout(describe(client));
    if (secret) this.writeSecret(secret);
  }

  rotated({ client, secret }: SecretResult & { secret: string }): void {
    if (this.json) return this.writeJson({ ...client, client_secret: secret });
    this.io.stdout(`Replaced the secret of client '${safe(client.client_id)}'.\n`);
    this.writeSecret(secret);
  }

  client(client: ClientView): void {
    if (this.json) return this.writeJson(client);
    this.io.stdout(describe(client));
  }

  list(clients: ClientView[]): void {
    if (this.json) return this.writeJson(clients);
    if (clients.length === 0) return this.io.stdout('No clients.\n');
    const rows = [
      ['CLIENT ID', 'TYPE', 'GRANT TYPES', 'SCOPE', 'USER ID'],
      ...clients.map((client) => [
        safe(client.client_id),
        client.client_type,
        grantTypesText(client),
        safe(client.scope ?? '-'),
        safe(client.user_id ?? '-'),
      ]),
    ];
    const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
    for (const row of rows) {
      this.io.stdout(
        row
          .map((cell, column) => cell.padEnd(widths[column]))
          .join('  ')
          .trimEnd() + '\n',
      );
    }
  }

  migrated(names: readonly string[]): void {
    if (this.json) return this.writeJson({ applied: names });
    if (names.length === 0) return this.io.stdout('The database is up to date.\n');
    for (const name of names) this.io.stdout(`Applied ${name}\n`);
  }

  pending(names: readonly string[]): void {
    if (this.json) return this.writeJson({ pending: names });
    if (names.length === 0)
      return this.io.stdout('The database is up to date: no pending migrations.\n');
    this.io.stdout(`Pending (run \`nest-oauth2 migrate\`):\n`);
    for (const name of names) this.io.stdout(`  ${name}\n`);
  }

  hashed({ hashed, skipped }: LegacySecretsResult): void {
    if (this.json) return this.writeJson({ hashed, skipped });
    this.io.stdout(
      hashed === 1
        ? 'Hashed 1 plaintext client secret.\n'
        : `Hashed ${hashed} plaintext client secrets.\n`,
    );
    if (skipped > 0) {
      this.warn([
        `${skipped} secret(s) changed while this ran (a server upgrading them, say) and were left as they are; run the command again to check`,
      ]);
    }
  }

  deleted(clientId: string): void {
    if (this.json) return this.writeJson({ client_id: clientId, deleted: true });
    this.io.stdout(`Deleted client '${safe(clientId)}'.\n`);
  }

  private writeSecret(secret: string): void {
    this.io.stdout(`Client secret: ${secret}\n${STORE_IT_NOW}\n`);
  }

  private warn(warnings: readonly string[]): void {
    for (const warning of warnings) this.io.stderr(`nest-oauth2: warning: ${warning}\n`);
  }

  private writeJson(value: unknown): void {
    this.io.stdout(JSON.stringify(value, null, 2) + '\n');
  }
}

function describe(client: ClientView): string {
  const fields: [string, string][] = [
    ['client_id', safe(client.client_id)],
    ['client_type', client.client_type],
    ['grant_types', grantTypesText(client)],
    ['scope', safe(client.scope ?? '-')],
    ['user_id', safe(client.user_id ?? '-')],
    ['redirect_uri', safe(client.redirect_uri ?? '-')],
  ];
  return fields.map(([name, value]) => `${(name + ':').padEnd(15)}${value}\n`).join('');
}

function grantTypesText(client: ClientView): string {
  return client.grant_types === null ? '(any)' : safe(client.grant_types.join(' '));
}

/** Stored values are shown on a terminal: control characters must not reach it. */
function safe(text: string): string {
  return text.replace(/\p{Cc}/gu, '?');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One line, and never the database password (drivers may quote their connection settings). */
function oneLine(message: string, databaseUrl: string): string {
  return safe(redactPassword(message, databaseUrl).split(/\r?\n/, 1)[0].trim() || 'failed');
}
