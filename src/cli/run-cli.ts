import type { DataSource } from 'typeorm';
import {
  ClientSecretHasher,
  OAuthClientRepository,
  type OAuth2EventSink,
  type OAuth2RedisOptions,
  type OAuthClient,
} from '../index.js';
import { connectRedisState, type RedisState } from '../redis/redis-state.js';
import {
  announce,
  isEmpty,
  NOT_ANNOUNCED_EXIT_CODE,
  notAnnouncedWarning,
  type Announcement,
} from './announce.js';
import { commandName, parseCommandLine } from './cli-args.js';
import { AuditingOAuthClientRepository } from '../clients/auditing-client.repository.js';
import { AuditingOAuth2KeyStore } from '../keys/auditing-key.store.js';
import { CliEventSink } from './audit-log.js';
import { CliError, USAGE_EXIT_CODE } from './cli-error.js';
import { ClientCommands } from './client-commands.js';
import { repositoryClientTable } from './client-table.js';
import { CLI, type Command, type CommandContext } from './commands.js';
import { DEFAULT_DATABASE_URL, redactPassword } from './database-url.js';
import { clientStorage, keyStore, messageOf, openDatabase, tableSettings } from './database.js';
import {
  keyTimingsFromEnv,
  maxAccessTokenLifetimeFromEnv,
  minSecretLengthFromEnv,
  redisOptionsFromEnv,
} from './env-settings.js';
import { hashConcurrency } from './legacy-secrets.js';
import { NO_PROGRESS, terminalProgress } from './progress.js';
import { processSecretInput, readChosenSecret, type SecretInput } from './secret-input.js';
import { usageText } from './usage.js';

/** Where runCli writes and what it reads of its process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal: progress is shown there only. @default false */
  stderrIsTerminal?: boolean;
  /**
   * Subscribes to interruptions (SIGINT) while an interruptible command runs; returns the unsubscribe.
   * @default none: the command runs to its end
   */
  onInterrupt?: (interrupt: () => void) => () => void;
  /**
   * Read for DATABASE_URL, OAUTH2_SECRET_PEPPER, OAUTH2_MIN_SECRET_LENGTH, OAUTH2_CLIENT_TABLE,
   * OAUTH2_TABLE_PREFIX, REDIS_URL, OAUTH2_REDIS_KEY_PREFIX, and for the key
   * commands OAUTH2_KEY_ENCRYPTION_KEY, OAUTH2_PREVIOUS_KEY_ENCRYPTION_KEYS, OAUTH2_JWKS_MAX_AGE,
   * OAUTH2_KEY_REFRESH_INTERVAL, OAUTH2_ACCESS_TOKEN_LIFETIME and OAUTH2_MAX_ACCESS_TOKEN_LIFETIME.
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
  /** Where --secret-stdin reads. @default the process's stdin */
  stdin?: SecretInput;
  /** Connects to the servers' shared store that REDIS_URL names. @default connectRedisState */
  connectRedis?: (options: OAuth2RedisOptions) => Promise<RedisState>;
  /** Where the audit events of the changes go. @default one JSON line each on `io.stderr` */
  events?: OAuth2EventSink;
}

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
  /** The URLs whose passwords no message may show. */
  const urls = [databaseUrl, env.REDIS_URL];
  const fail = (error: unknown): number => {
    const usage = error instanceof CliError && error.exitCode === USAGE_EXIT_CODE;
    const hint = usage ? ` (see ${CLI.program} --help)` : '';
    io.stderr(`${CLI.program}: ${oneLine(messageOf(error), urls)}${hint}\n`);
    return error instanceof CliError ? error.exitCode : 1;
  };

  let database: DataSource | undefined;
  let redis: Promise<RedisState> | undefined;
  let status: number;
  let release: (() => void) | undefined;
  const warn = (message: string) => io.stderr(`${CLI.program}: warning: ${safe(message)}\n`);
  const events = dependencies.events ?? new CliEventSink(io.stderr);
  try {
    const parsed = parseCommandLine(argv, CLI);
    if (parsed === 'help') {
      io.stdout(usageText(CLI));
      return 0;
    }
    const { command, options, positionals } = parsed;
    for (const option of command.options) {
      if (
        option.warning !== undefined &&
        options[option.name] !== undefined &&
        options[option.name] !== false
      ) {
        warn(option.warning);
      }
    }
    const fromEnv = <T>(read: () => T): T => {
      try {
        return read();
      } catch (error) {
        throw new CliError(messageOf(error));
      }
    };
    // Checked before any change is made: a bad setting must not leave a saved change unannounced.
    const redisOptions = fromEnv(() => redisOptionsFromEnv(env));
    const maxAccessTokenLifetime = () => fromEnv(() => maxAccessTokenLifetimeFromEnv(env));
    if (redisOptions && command.announce) maxAccessTokenLifetime();
    const tables = tableSettings({ table: options.table, prefix: options['table-prefix'] }, env);
    const open = async (): Promise<DataSource> =>
      (database ??= await openDatabase(databaseUrl, io.cwd ?? process.cwd(), tables, warn));
    const interruption = new AbortController();
    if (command.interruptible && io.onInterrupt) {
      release = io.onInterrupt(() => {
        if (interruption.signal.aborted) return;
        // Below the progress line, which stays as it was.
        if (io.stderrIsTerminal && !options.json) io.stderr('\n');
        warn('interrupted: finishing the batch in progress (interrupt again to stop at once)');
        interruption.abort();
      });
    }
    const context: CommandContext = {
      options,
      positionals,
      database: open,
      clients: async ({ hashesSecrets = false } = {}) => {
        const hasher =
          dependencies.hasher ??
          new ClientSecretHasher({
            pepper: env.OAUTH2_SECRET_PEPPER || undefined,
            minSecretLength: fromEnv(() => minSecretLengthFromEnv(env)),
          });
        const storage = dependencies.repository
          ? {
              repository: dependencies.repository,
              table: repositoryClientTable(dependencies.repository, hasher),
            }
          : await clientStorage(await open(), { url: databaseUrl, tables, hashesSecrets, hasher });
        if ('warning' in storage && storage.warning) warn(storage.warning);
        return new ClientCommands(
          new AuditingOAuthClientRepository(storage.repository, events, 'cli'),
          hasher,
          (property) => optionNaming(command, property),
          storage.table,
        );
      },
      keys: async () =>
        new AuditingOAuth2KeyStore(
          await keyStore(await open(), { url: databaseUrl, tables, env }),
          events,
          'cli',
        ),
      events,
      keyTimings: () => fromEnv(() => keyTimingsFromEnv(env)),
      maxAccessTokenLifetime,
      redis: async () => {
        if (!redisOptions) {
          throw new CliError(
            `'${commandName(command)}' needs REDIS_URL: the Redis of the servers' store.redis`,
          );
        }
        try {
          return await (redis ??= (dependencies.connectRedis ?? connectRedisState)(redisOptions));
        } catch (error) {
          throw new CliError(`REDIS_URL: ${messageOf(error)}`);
        }
      },
      readSecret: () => readChosenSecret(dependencies.stdin ?? processSecretInput()),
      cwd: io.cwd ?? process.cwd(),
      signal: interruption.signal,
      hashConcurrency: hashConcurrency(),
      progress: (label) =>
        io.stderrIsTerminal && !options.json ? terminalProgress(io.stderr, label) : NO_PROGRESS,
    };
    const result = await command.run(context);
    const notAnnounced = redisOptions
      ? await announced(context, command.announce?.(result))
      : undefined;
    write(io, command, result, options.json);
    status = command.exitCode?.(result) ?? 0;
    if (notAnnounced !== undefined) {
      warn(oneLine(notAnnounced, urls));
      status = Math.max(status, NOT_ANNOUNCED_EXIT_CODE);
    }
  } catch (error) {
    status = fail(error);
  } finally {
    release?.();
  }
  try {
    await database?.destroy();
  } catch (error) {
    status = Math.max(status, fail(error));
  }
  // A connection that failed has nothing to close; one that fails to close has nothing left to lose.
  await redis?.then((state) => state.close()).catch(() => {});
  return status;
}

/**
 * Tells the servers of a saved change (see `announce`); resolves to the warning when it could not: the change
 * stands, and the servers apply it later (the warning says when).
 */
async function announced(
  context: CommandContext,
  announcement: Announcement | undefined,
): Promise<string | undefined> {
  if (announcement === undefined || isEmpty(announcement)) return undefined;
  try {
    await announce(await context.redis(), announcement, {
      maxAccessTokenLifetime: context.maxAccessTokenLifetime(),
      events: context.events,
    });
    return undefined;
  } catch (error) {
    return notAnnouncedWarning(announcement, messageOf(error));
  }
}

/** Warnings on stderr; the result on stdout, as JSON or as text with control characters neutralised. */
function write(io: CliIo, command: Command, result: unknown, json: boolean): void {
  for (const warning of command.warnings?.(result) ?? []) {
    io.stderr(`${CLI.program}: warning: ${safe(warning)}\n`);
  }
  if (json) {
    io.stdout(JSON.stringify(command.json ? command.json(result) : result, null, 2) + '\n');
  } else {
    for (const line of command.text(result)) io.stdout(safe(line) + '\n');
  }
}

/** The option that sets a client property, as a message names it. */
function optionNaming(command: Command, property: keyof OAuthClient): string {
  const option = command.options.find((spec) => spec.field === property);
  return option ? `--${option.name}` : property;
}

/** Stored values are shown on a terminal: control characters must not reach it. */
function safe(text: string): string {
  return text.replace(/\p{Cc}/gu, '?');
}

/** One line, and never a password of `urls` (drivers may quote their connection settings). */
function oneLine(message: string, urls: readonly (string | undefined)[]): string {
  const redacted = urls.reduce((text: string, url) => redactPassword(text, url), message);
  return safe(redacted.split(/\r?\n/, 1)[0].trim() || 'failed');
}
