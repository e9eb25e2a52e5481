import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { clientTableName } from '../clients/oauth-client.entity.js';
import { oauth2Entities, oauth2Migrations, type OAuth2MigrationsOptions } from '../index.js';

/** Where the CLI and the example app keep their clients when DATABASE_URL is not set. */
export const DEFAULT_DATABASE_URL = 'sqlite:./data/oauth2.sqlite';

const SUPPORTED = 'sqlite:<path>, postgres://, postgresql://, mysql:// or mariadb://';

/** A DATABASE_URL that cannot be used; its message never holds the URL's password. */
export class DatabaseUrlError extends Error {
  override readonly name = 'DatabaseUrlError';
}

/**
 * TypeORM DataSource options for a `DATABASE_URL`:
 * - `sqlite:<path>`: better-sqlite3; a relative path is resolved from `cwd`; a missing folder is created
 *   with mode 0700 and a missing file, empty, with mode 0600 (client secrets and sealed keys live in it;
 *   SQLite gives its journal files the database file's mode); an existing file keeps its mode, with a
 *   warning (`warn`) when others may read it; `sqlite::memory:` is an in-memory database;
 * - `postgres://…`, `postgresql://…`: PostgreSQL (needs the `pg` package); `?schema=<name>` picks the schema,
 *   a name of the same rule as the table names;
 * - `mysql://…`: MySQL, `mariadb://…`: MariaDB (both need the `mysql2` package).
 *
 * The options map the module's entities to `tables` and list its migrations for them; nothing is
 * synchronized: the schema comes from running the migrations.
 */
export function databaseOptionsFromUrl(
  url: string = DEFAULT_DATABASE_URL,
  cwd: string = process.cwd(),
  tables: OAuth2MigrationsOptions = {},
  {
    warn = (message: string) => process.emitWarning(message),
  }: { warn?: (message: string) => void } = {},
): DataSourceOptions {
  const options: DataSourceOptions = {
    ...parseDatabaseUrl(url, cwd),
    entities: oauth2Entities(tables),
    migrations: oauth2Migrations(tables),
  };
  if (options.type === 'better-sqlite3' && options.database !== ':memory:') {
    prepareSqliteFile(options.database, warn);
  }
  return options;
}

/** The folder (0700) and the empty file (0600) when missing; a warning for a file others may read. */
function prepareSqliteFile(file: string, warn: (message: string) => void): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    // 'wx': created here or not at all, so an existing file's mode is never changed.
    closeSync(openSync(file, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o004) {
      warn(
        `the SQLite database ${file} is readable by every user (mode ${mode.toString(8)}): ` +
          `restrict it with \`chmod 600 ${file}\``,
      );
    }
  }
}

/** Throws the DatabaseUrlError that `databaseOptionsFromUrl` would, without touching the file system. */
export function checkDatabaseUrl(url: string): void {
  parseDatabaseUrl(url, process.cwd());
}

function parseDatabaseUrl(url: string, cwd: string): DataSourceOptions {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'sqlite':
      return { type: 'better-sqlite3', database: sqlitePath(url, cwd) };
    case 'postgres':
    case 'postgresql':
      return { type: 'postgres', ...postgresUrl(url, checkedServerUrl(url)) };
    case 'mysql':
      checkedServerUrl(url);
      return { type: 'mysql', url };
    case 'mariadb':
      checkedServerUrl(url);
      // Same driver as mysql; the type turns on TypeORM's MariaDB feature detection.
      return { type: 'mariadb', url };
    case undefined:
      throw new DatabaseUrlError(`DATABASE_URL has no scheme: expected ${SUPPORTED}`);
    default:
      throw new DatabaseUrlError(
        `DATABASE_URL scheme '${scheme}:' is not supported: expected ${SUPPORTED}`,
      );
  }
}

/** The URL with its password replaced by `***`, fit for a log line. */
export function redactDatabaseUrl(url: string): string {
  const password = passwordOf(url);
  return password ? url.split(`:${password}@`).join(':***@') : url;
}

/** The message with any occurrence of the URL's password (raw or decoded) replaced by `***`. */
export function redactPassword(message: string, url: string | undefined): string {
  const password = url === undefined ? undefined : passwordOf(url);
  if (!password) return message;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // A malformed escape: only the raw form can appear.
  }
  return [password, decoded].reduce((text, secret) => text.split(secret).join('***'), message);
}

function sqlitePath(url: string, cwd: string): string {
  const path = url.slice('sqlite:'.length);
  if (path === ':memory:') return path;
  if (path === '') throw new DatabaseUrlError('DATABASE_URL sqlite: needs a file path');
  // sqlite://x and sqlite:///x mean different things to different tools: ask for the plain form.
  if (path.startsWith('//')) {
    throw new DatabaseUrlError(
      'DATABASE_URL: write sqlite:<path>, e.g. sqlite:./data/oauth2.sqlite or sqlite:/var/lib/oauth2.sqlite',
    );
  }
  return resolve(cwd, path);
}

function checkedServerUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseUrlError('DATABASE_URL is not a valid URL');
  }
  if (parsed.hostname === '') throw new DatabaseUrlError('DATABASE_URL has no host name');
  return parsed;
}

/** `?schema=<name>` is ours, not the driver's: it becomes TypeORM's `schema` option. */
function postgresUrl(url: string, parsed: URL): { url: string; schema?: string } {
  const schema = parsed.searchParams.get('schema');
  if (schema === null) return { url };
  if (schema === '') throw new DatabaseUrlError('DATABASE_URL ?schema= needs a schema name');
  try {
    // TypeORM puts the schema into SQL as it puts the table names: the same rule keeps both safe.
    clientTableName({ tableName: schema });
  } catch {
    throw new DatabaseUrlError(
      `DATABASE_URL ?schema=${JSON.stringify(schema)} is not a valid schema name: use letters, ` +
        'digits and _, at most 63 characters, not starting with a digit',
    );
  }
  parsed.searchParams.delete('schema');
  return { url: parsed.href, schema };
}

/** The password part of scheme://user:password@host…, as written (still percent-encoded). */
function passwordOf(url: string): string | undefined {
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@:]*:([^/?#]*)@/.exec(url);
  return match?.[1] || undefined;
}
