import { DataSource } from 'typeorm';
import {
  ClientSecretHasher,
  OAuthClient,
  OAuthClientRepository,
  TypeOrmOAuthClientRepository,
} from '../index.js';
import { parseCommandLine, type CommandSpec, type ParsedCommand } from './cli-args.js';
import { CliError, USAGE_EXIT_CODE } from './cli-error.js';
import {
  checkCreateInput,
  ClientCommands,
  type ClientView,
  type CreateClientInput,
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
  /** Read for DATABASE_URL. @default process.env */
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
};

export const USAGE = `Usage: nest-oauth2 <command> [options]

Manages the OAuth 2.0 clients in the database that DATABASE_URL names: sqlite:<path>
(default ${DEFAULT_DATABASE_URL}), postgres://…, postgresql://…, mysql://… or mariadb://….
A generated secret is stored as a keyed digest (HMAC-SHA-256, peppered with OAUTH2_SECRET_PEPPER when
set), a chosen one (--secret) as a scrypt hash; a generated secret is shown once and cannot be shown again.

Commands:
  client create --id <id> [--secret <secret> | --public] [--grant-types <list>]
                [--scope <list>] [--user-id <id>] [--redirect-uri <uri>]
                             Register a client. Without --secret or --public a secret is
                             generated and printed once. --grant-types defaults to
                             "client_credentials"; lists are space-separated.
  client list                List the clients.
  client show <id>           Show one client.
  client rotate-secret <id>  Give a confidential client a new generated secret, printed once.
  client delete <id>         Delete a client.

Options:
  --json      Print the result as JSON on stdout.
  -h, --help  Show this help.

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
  const databaseUrl = (io.env ?? process.env).DATABASE_URL || DEFAULT_DATABASE_URL;
  const fail = (error: unknown): number => {
    const usage = error instanceof CliError && error.exitCode === USAGE_EXIT_CODE;
    const hint = usage ? ' (see nest-oauth2 --help)' : '';
    io.stderr(`nest-oauth2: ${oneLine(messageOf(error), databaseUrl)}${hint}\n`);
    return error instanceof CliError ? error.exitCode : 1;
  };

  let close: (() => Promise<void>) | undefined;
  let status: number;
  try {
    const command = parseCommandLine(argv, COMMANDS);
    if (command === 'help') {
      io.stdout(USAGE);
      return 0;
    }
    const run = prepare(command);
    let repository = dependencies.repository;
    if (repository === undefined) {
      ({ repository, close } = await openRepository(databaseUrl, io.cwd ?? process.cwd()));
    }
    await run(
      new ClientCommands(
        repository,
        dependencies.hasher ??
          new ClientSecretHasher({
            pepper: (io.env ?? process.env).OAUTH2_SECRET_PEPPER || undefined,
          }),
      ),
      new Output(io, command.json),
    );
    status = 0;
  } catch (error) {
    status = fail(error);
  }
  try {
    await close?.();
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
    default:
      throw CliError.usage(`unknown command '${words.join(' ')}'`);
  }
}

async function openRepository(
  databaseUrl: string,
  cwd: string,
): Promise<{ repository: OAuthClientRepository; close: () => Promise<void> }> {
  const options = databaseOptionsFromUrl(databaseUrl, cwd);
  let dataSource: DataSource;
  try {
    // The constructor loads the driver package, which may be missing.
    dataSource = new DataSource(options);
    await dataSource.initialize();
  } catch (error) {
    throw new CliError(
      `cannot open the database ${redactDatabaseUrl(databaseUrl)}: ${messageOf(error)}`,
    );
  }
  return {
    repository: new TypeOrmOAuthClientRepository(dataSource.getRepository(OAuthClient)),
    close: () => dataSource.destroy(),
  };
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
