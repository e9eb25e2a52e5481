import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { tempDir } from './cli.js';

/** One app's own empty schema (PostgreSQL) or database (MariaDB), so runs never see each other's rows. */
export interface IsolatedDatabase {
  options: DataSourceOptions;
  /** The same database as a DATABASE_URL, for the CLI. */
  url: string;
  drop(): Promise<void>;
}

export interface TestDatabase {
  name: 'sqlite' | 'postgres' | 'mysql';
  /**
   * @param shared on SQLite, a file that several DataSources (two app instances, the CLI) can open rather
   * than a connection's own in-memory database
   */
  create(options?: { shared?: boolean }): Promise<IsolatedDatabase>;
}

const CONNECT_TIMEOUT_MS = 5000;
const uniqueName = () => `oauth2_test_${randomBytes(6).toString('hex')}`;

const sqlite: TestDatabase = {
  name: 'sqlite',
  async create({ shared = false } = {}) {
    if (!shared) {
      return {
        options: { type: 'better-sqlite3', database: ':memory:' },
        url: 'sqlite::memory:',
        drop: async () => {},
      };
    }
    const dir = tempDir('oauth2-sqlite-');
    const file = join(dir.path, 'test.sqlite');
    // Only its owner may read it, as the CLI and the example app create theirs (they warn otherwise).
    writeFileSync(file, '', { mode: 0o600 });
    return {
      options: { type: 'better-sqlite3', database: file },
      url: `sqlite:${file}`,
      drop: async () => dir.remove(),
    };
  },
};

function postgres(url: string): TestDatabase {
  return {
    name: 'postgres',
    async create() {
      const { default: pg } = await import('pg');
      const schema = uniqueName();
      const admin = async (sql: string) => {
        const client = new pg.Client({
          connectionString: url,
          connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        });
        await client.connect();
        try {
          await client.query(sql);
        } finally {
          await client.end();
        }
      };
      await admin(`CREATE SCHEMA "${schema}"`);
      const withSchema = new URL(url);
      withSchema.searchParams.set('schema', schema);
      return {
        options: { type: 'postgres', url, schema, connectTimeoutMS: CONNECT_TIMEOUT_MS },
        url: withSchema.href,
        drop: () => admin(`DROP SCHEMA "${schema}" CASCADE`),
      };
    },
  };
}

function mysql(url: string): TestDatabase {
  return {
    name: 'mysql',
    async create() {
      const { default: mysql2 } = await import('mysql2/promise');
      const database = uniqueName();
      const admin = async (sql: string) => {
        const connection = await mysql2.createConnection({
          uri: url,
          connectTimeout: CONNECT_TIMEOUT_MS,
        });
        try {
          const [rows] = await connection.query(sql);
          return rows;
        } finally {
          await connection.end();
        }
      };
      // TypeORM reads MariaDB's information_schema right only when told it is MariaDB (type 'mysql' takes its
      // `DEFAULT NULL` for the string 'NULL', so even a synchronized schema never matches its entities).
      const [{ version }] = (await admin('SELECT VERSION() AS version')) as [{ version: string }];
      await admin(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
      const parsed = new URL(url);
      const type = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
      const ofDatabase = new URL(url);
      ofDatabase.protocol = `${type}:`;
      ofDatabase.pathname = `/${database}`;
      return {
        url: ofDatabase.href,
        options: {
          type,
          host: parsed.hostname,
          port: Number(parsed.port || 3306),
          username: decodeURIComponent(parsed.username),
          password: decodeURIComponent(parsed.password),
          database,
          connectTimeout: CONNECT_TIMEOUT_MS,
        },
        drop: async () => void (await admin(`DROP DATABASE \`${database}\``)),
      };
    },
  };
}

/**
 * SQLite always; PostgreSQL and MariaDB/MySQL when their variable is set. A set variable whose server cannot
 * be reached fails the suite in create(): it never skips.
 */
export const databases: TestDatabase[] = [
  sqlite,
  ...(process.env.OAUTH2_TEST_POSTGRES_URL ? [postgres(process.env.OAUTH2_TEST_POSTGRES_URL)] : []),
  ...(process.env.OAUTH2_TEST_MYSQL_URL ? [mysql(process.env.OAUTH2_TEST_MYSQL_URL)] : []),
];

export const sqliteDatabase = sqlite;
