import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  oauth2Entities,
  oauth2Migrations,
  OAuthClient,
  OAuthStoredClientSecret,
  OAuthStoredKey,
} from '../index.js';
import {
  DatabaseUrlError,
  databaseOptionsFromUrl,
  DEFAULT_DATABASE_URL,
  redactDatabaseUrl,
  redactPassword,
} from './database-url.js';

describe('databaseOptionsFromUrl', () => {
  test('sqlite:<relative path> is resolved from cwd and its folder is created', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'oauth2-dburl-'));
    try {
      const options = databaseOptionsFromUrl('sqlite:./nested/dir/clients.sqlite', cwd);
      expect(options).toEqual({
        type: 'better-sqlite3',
        database: join(cwd, 'nested/dir/clients.sqlite'),
        entities: [OAuthClient, OAuthStoredKey, OAuthStoredClientSecret],
        migrations: oauth2Migrations(),
      });
      expect(existsSync(join(cwd, 'nested/dir'))).toBe(true);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('sqlite:<absolute path> is kept', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'oauth2-dburl-'));
    try {
      const file = join(cwd, 'abs', 'x.sqlite');
      expect(databaseOptionsFromUrl(`sqlite:${file}`, '/nowhere')).toMatchObject({
        database: file,
      });
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('sqlite::memory: is an in-memory database', () => {
    expect(databaseOptionsFromUrl('sqlite::memory:')).toMatchObject({
      type: 'better-sqlite3',
      database: ':memory:',
    });
  });

  test('the default is ./data/oauth2.sqlite', () => {
    expect(DEFAULT_DATABASE_URL).toBe('sqlite:./data/oauth2.sqlite');
    const cwd = mkdtempSync(join(tmpdir(), 'oauth2-dburl-'));
    try {
      expect(databaseOptionsFromUrl(undefined, cwd)).toMatchObject({
        database: join(cwd, 'data', 'oauth2.sqlite'),
      });
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test.each([
    ['postgres://u:p@db.example:5432/oauth', 'postgres'],
    ['postgresql://u:p@db.example/oauth', 'postgres'],
    ['POSTGRES://db.example/oauth', 'postgres'],
    ['mysql://u:p@db.example:3306/oauth', 'mysql'],
    ['mariadb://u:p@db.example/oauth', 'mariadb'],
  ])('%s → type %s with the url', (url, type) => {
    expect(databaseOptionsFromUrl(url)).toEqual({
      type,
      url,
      entities: [OAuthClient, OAuthStoredKey, OAuthStoredClientSecret],
      migrations: oauth2Migrations(),
    });
  });

  test('no synchronize: the schema comes from the migrations', () => {
    const options = databaseOptionsFromUrl('sqlite::memory:');
    expect(options.synchronize).toBeUndefined();
    expect(options.migrationsRun).toBeUndefined();
    expect(options.migrations).toEqual(oauth2Migrations());
  });

  test('another table: its entities and its migrations', () => {
    const options = databaseOptionsFromUrl('sqlite::memory:', '/', {
      tableName: 'clients',
      tablePrefix: 'yii_',
    });
    expect(options.entities).toEqual(oauth2Entities({ tableName: 'clients', tablePrefix: 'yii_' }));
    expect((options.entities as Array<{ name: string }>).map((entity) => entity.name)).toEqual([
      'OAuthClient(yii_clients)',
      'OAuthStoredKey(yii_oauth_signing_keys)',
      'OAuthStoredClientSecret(yii_oauth_client_secrets)',
    ]);
    expect(options.migrations).toEqual(
      oauth2Migrations({ tableName: 'clients', tablePrefix: 'yii_' }),
    );
    expect(options.migrations).not.toEqual(oauth2Migrations());
  });

  test('postgres ?schema=<name> becomes the schema option and leaves the URL', () => {
    expect(
      databaseOptionsFromUrl('postgres://u:p@db.example/oauth?schema=auth&sslmode=require'),
    ).toMatchObject({
      type: 'postgres',
      url: 'postgres://u:p@db.example/oauth?sslmode=require',
      schema: 'auth',
    });
    expect(databaseOptionsFromUrl('postgres://db.example/oauth?schema=legacy')).toMatchObject({
      url: 'postgres://db.example/oauth',
      schema: 'legacy',
    });
    expect(databaseOptionsFromUrl('postgres://db.example/oauth')).not.toHaveProperty('schema');
  });

  test.each([
    ['redis://u:hunter2@cache/0', /scheme 'redis:' is not supported/],
    ['just-a-path.sqlite', /has no scheme/],
    ['sqlite:', /needs a file path/],
    ['sqlite:///var/db.sqlite', /write sqlite:<path>/],
    ['postgres:///db', /no host name/],
    ['mysql://u:hunter2@[bad/db', /not a valid URL/],
    ['postgres://u:hunter2@db/x?schema=', /\?schema= needs a schema name/],
    ['postgres://u:hunter2@db/x?schema=a";DROP TABLE x;--', /not a valid schema name: use letters/],
    ['postgres://db/x?schema=public%20x', /\?schema="public x" is not a valid schema name/],
    ['postgres://db/x?schema=9lives', /not starting with a digit/],
    [`postgres://db/x?schema=${'s'.repeat(64)}`, /at most 63 characters/],
  ])('%s is refused with a clear message that holds no password', (url, message) => {
    let error: unknown;
    try {
      databaseOptionsFromUrl(url);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DatabaseUrlError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe('the SQLite file', () => {
  const mode = (path: string) => statSync(path).mode & 0o777;
  let cwd: string;
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'oauth2-dburl-'));
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  test('a new folder is created 0700 and a new file, empty, 0600; nothing is said', () => {
    const warnings: string[] = [];
    databaseOptionsFromUrl(
      'sqlite:./a/b/clients.sqlite',
      cwd,
      {},
      { warn: (w) => warnings.push(w) },
    );
    expect(mode(join(cwd, 'a'))).toBe(0o700);
    expect(mode(join(cwd, 'a/b'))).toBe(0o700);
    expect(mode(join(cwd, 'a/b/clients.sqlite'))).toBe(0o600);
    expect(statSync(join(cwd, 'a/b/clients.sqlite')).size).toBe(0);
    expect(warnings).toEqual([]);
  });

  test('an existing file keeps its mode and content; a world-readable one is warned about', () => {
    const file = join(cwd, 'old.sqlite');
    writeFileSync(file, 'kept');
    chmodSync(file, 0o644);
    const warnings: string[] = [];
    const warn = (w: string) => warnings.push(w);
    databaseOptionsFromUrl(`sqlite:${file}`, '/', {}, { warn });
    expect(mode(file)).toBe(0o644);
    expect(warnings).toEqual([
      `the SQLite database ${file} is readable by every user (mode 644): restrict it with \`chmod 600 ${file}\``,
    ]);
    chmodSync(file, 0o640);
    databaseOptionsFromUrl(`sqlite:${file}`, '/', {}, { warn });
    expect(warnings).toHaveLength(1);
    expect(mode(file)).toBe(0o640);
  });

  test('an existing folder keeps its mode', () => {
    chmodSync(cwd, 0o755);
    databaseOptionsFromUrl('sqlite:./x.sqlite', cwd);
    expect(mode(cwd)).toBe(0o755);
    expect(mode(join(cwd, 'x.sqlite'))).toBe(0o600);
  });
});

describe('password redaction', () => {
  test('redactDatabaseUrl hides the password only', () => {
    expect(redactDatabaseUrl('postgres://app:s3cr%40t@db:5432/oauth?ssl=true')).toBe(
      'postgres://app:***@db:5432/oauth?ssl=true',
    );
    expect(redactDatabaseUrl('postgres://app@db/oauth')).toBe('postgres://app@db/oauth');
    expect(redactDatabaseUrl('sqlite:./data/x.sqlite')).toBe('sqlite:./data/x.sqlite');
  });

  test('redactPassword removes the raw and the decoded password from a message', () => {
    const url = 'mysql://app:s3cr%40t@db/oauth';
    expect(redactPassword('login s3cr@t failed for mysql://app:s3cr%40t@db/oauth', url)).toBe(
      'login *** failed for mysql://app:***@db/oauth',
    );
    expect(redactPassword('nothing to hide', 'sqlite::memory:')).toBe('nothing to hide');
  });
});
