import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import request from 'supertest';
import { TypeOrmModule } from '@nestjs/typeorm';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import {
  ClientSecretHasher,
  OAuth2Module,
  OAuthClient,
  OAuthClientRepository,
  oauth2Entities,
  type OAuth2ModuleExtras,
} from '../src/index.js';
import { platforms, startApp } from './support/app.js';
import { runCapturing, tempDir } from './support/cli.js';
import { databases, type TestDatabase } from './support/databases.js';
import { testOptions } from './support/fixtures.js';
import { decodeJwt } from './support/jwt.js';
import {
  createSeedTable,
  migrateSeedTable,
  rawTable,
  SEED_COLUMNS,
  storedSecret,
} from './support/legacy.js';
import { CapturingLogger } from './support/logger.js';
import {
  appendixBHeader,
  basicHeader,
  GRANT,
  tokenRequest,
  expectInvalidClient,
} from './support/oauth.js';
import { ResourceController } from './support/resource.controller.js';

/**
 * A database left by oauth2-server-php / yii2-oauth2-server: the seed's own DDL, plaintext secrets. The
 * module's migrations adopt the table as it is, rows and all: they add the client lifecycle columns (each
 * null or false, which keeps today's behaviour), create the secret table beside it, and on MariaDB/MySQL give
 * client_id a binary collation. The module is pointed at it with `legacyPlaintextSecrets`.
 */

const SCRYPT = /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{32}$/;
const hasher = new ClientSecretHasher();

interface TableCase {
  /** The table's full name. */
  table: string;
  /** How the module is told about it. */
  extras: OAuth2ModuleExtras;
}

const TABLES: TableCase[] = [
  { table: 'oauth_clients', extras: {} },
  { table: 'yii_oauth_clients', extras: { tableName: 'oauth_clients', tablePrefix: 'yii_' } },
];

/** One database of the seed's shape, reachable by the apps and by the CLI's DATABASE_URL. */
interface LegacyDatabase {
  options: DataSourceOptions;
  url: string;
  drop(): Promise<void>;
}

/**
 * The test's own schema (PostgreSQL) or database (MariaDB/MySQL), or a SQLite file: two apps and the CLI must
 * see the same rows, which an in-memory SQLite database cannot give.
 */
async function legacyDatabase(database: TestDatabase): Promise<LegacyDatabase> {
  if (database.name === 'sqlite') {
    const dir = tempDir('oauth2-legacy-');
    const file = join(dir.path, 'legacy.sqlite');
    // Kept as a server's database file should be (the CLI warns about a world-readable one).
    writeFileSync(file, '', { mode: 0o600 });
    return {
      options: { type: 'better-sqlite3', database: file },
      url: `sqlite:${file}`,
      drop: async () => dir.remove(),
    };
  }
  const isolated = await database.create();
  const { options } = isolated;
  let url: string;
  if (options.type === 'postgres') {
    const parsed = new URL(options.url!);
    parsed.searchParams.set('schema', options.schema!);
    url = parsed.href;
  } else if (options.type === 'mysql' || options.type === 'mariadb') {
    const auth = options.password
      ? `${encodeURIComponent(options.username!)}:${encodeURIComponent(options.password)}`
      : encodeURIComponent(options.username!);
    url = `${options.type}://${auth}@${options.host}:${options.port}/${options.database}`;
  } else {
    throw new Error(`no URL for ${options.type}`);
  }
  return { options, url, drop: () => isolated.drop() };
}

/** An app on the legacy table, migrated beforehand: no migrations at start, no synchronize. */
function legacyApp(
  options: DataSourceOptions,
  { extras }: TableCase,
  legacyPlaintextSecrets: boolean,
): ModuleMetadata {
  return {
    imports: [
      TypeOrmModule.forRoot({
        ...options,
        entities: oauth2Entities(extras),
        synchronize: false,
        migrationsRun: false,
      }),
      OAuth2Module.forRoot({ ...testOptions({ legacyPlaintextSecrets }), ...extras }),
    ],
    controllers: [ResourceController],
  };
}

/** Every SELECT of the case's rows goes through a DataSource of its own, outside the apps. */
async function withDataSource<T>(
  options: DataSourceOptions,
  work: (dataSource: DataSource) => Promise<T>,
): Promise<T> {
  const dataSource = new DataSource({ ...options, entities: [] });
  await dataSource.initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

const cases = databases.flatMap((database) =>
  platforms.flatMap((platform) =>
    TABLES.map((tableCase) => ({
      name: `${tableCase.table}, ${platform}, ${database.name}`,
      database,
      platform,
      tableCase,
    })),
  ),
);

describe.each(cases)('legacy seed table ($name)', ({ database, platform, tableCase }) => {
  const { table } = tableCase;
  let db: LegacyDatabase;
  let app: INestApplication;
  let strictApp: INestApplication;
  const logger = new CapturingLogger();

  const secretOf = (clientId: string) =>
    withDataSource(db.options, (dataSource) => storedSecret(dataSource, table, clientId));

  beforeAll(async () => {
    db = await legacyDatabase(database);
    await withDataSource(db.options, (dataSource) =>
      createSeedTable(dataSource, table, [
        ['testclient', 'testpass', 'reports:read reports:write'],
        ['burst', 'burst-pass', 'reports:read'],
        ['guarded', 'guarded-pass', null],
        ['an:identifier', 'some secure & non-standard secret', 'reports:read'],
        ['dormant', 'dormant-pass', null],
        ['exact', 'exact-pass', null],
      ]),
    );
    await migrateSeedTable(db.options, tableCase.extras);
    app = await startApp(legacyApp(db.options, tableCase, true), { platform, logger });
  });

  afterAll(async () => {
    await app?.close();
    await strictApp?.close();
    await db?.drop();
  });

  test('the migrations kept the rows and gave them the lifecycle columns, each null or not disabled', async () => {
    const rows = await withDataSource(db.options, (dataSource) =>
      dataSource.query<Array<Record<string, unknown>>>(
        `SELECT client_id, client_secret, client_secret_expires_at, client_secret_last_used_at, ` +
          `token_endpoint_auth_method, jwks, jwks_uri, access_token_lifetime, audience, disabled ` +
          `FROM ${rawTable(dataSource.options, table)} ORDER BY client_id`,
      ),
    );
    expect(rows.map((row) => [row.client_id, row.client_secret])).toEqual([
      ['an:identifier', 'some secure & non-standard secret'],
      ['burst', 'burst-pass'],
      ['dormant', 'dormant-pass'],
      ['exact', 'exact-pass'],
      ['guarded', 'guarded-pass'],
      ['testclient', 'testpass'],
    ]);
    for (const { client_id: _id, client_secret: _secret, disabled, ...added } of rows) {
      // PostgreSQL's boolean false; 0 in MariaDB's TINYINT and SQLite's INTEGER.
      expect([false, 0]).toContain(disabled);
      expect(Object.values(added)).toEqual(Array(7).fill(null));
    }
  });

  test('Basic with the plaintext secret: a token, and the row now holds a scrypt hash', async () => {
    expect(await secretOf('testclient')).toBe('testpass');
    const first = await tokenRequest(app)
      .set('Authorization', basicHeader('testclient', 'testpass'))
      .send(GRANT);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'reports:read reports:write',
    });
    expect(decodeJwt(first.body.access_token).payload).toMatchObject({ client_id: 'testclient' });

    const stored = await secretOf('testclient');
    expect(stored).toMatch(SCRYPT);
    expect(stored!.length).toBeLessThanOrEqual(80);
    await expect(hasher.verify('testpass', stored!)).resolves.toBe(true);

    const again = await tokenRequest(app)
      .set('Authorization', basicHeader('testclient', 'testpass'))
      .send(GRANT);
    expect(again.status).toBe(200);
    expect(again.body.scope).toBe('reports:read reports:write');
    // Verified against the hash now: the stored value did not change again.
    expect(await secretOf('testclient')).toBe(stored);
  });

  test('10 parallel first requests all succeed, and the row ends hashed', async () => {
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        tokenRequest(app).set('Authorization', basicHeader('burst', 'burst-pass')).send(GRANT),
      ),
    );
    expect(responses.map((res) => res.status)).toEqual(Array(10).fill(200));
    expect(responses.map((res) => res.body.scope)).toEqual(Array(10).fill('reports:read'));
    const stored = await secretOf('burst');
    expect(stored).toMatch(SCRYPT);
    await expect(hasher.verify('burst-pass', stored!)).resolves.toBe(true);
    // Compare-and-set: one write won, the others found the row changed and still succeeded.
    const upgrades = logger.lines.filter((line) => line.message.startsWith('Client "burst"'));
    expect(upgrades.map((line) => line.message)).toEqual([
      'Client "burst": plaintext secret replaced by a hash',
    ]);
    expect(logger.text()).not.toContain('Could not upgrade');
  });

  test('a wrong secret against a plaintext row: 401 invalid_client, the row unchanged', async () => {
    for (const wrong of ['guarded-pasS', 'guarded-pas', 'guarded-pass ', '']) {
      expectInvalidClient(
        await tokenRequest(app).set('Authorization', basicHeader('guarded', wrong)).send(GRANT),
      );
    }
    expectInvalidClient(
      await tokenRequest(app).send(`${GRANT}&client_id=guarded&client_secret=nope`),
    );
    expect(await secretOf('guarded')).toBe('guarded-pass');
  });

  test('Appendix B: the form-urlencoded id and secret match the plaintext row', async () => {
    const res = await tokenRequest(app)
      .set('Authorization', appendixBHeader('an:identifier', 'some secure & non-standard secret'))
      .send(GRANT);
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('reports:read');
    await expect(
      hasher.verify('some secure & non-standard secret', (await secretOf('an:identifier'))!),
    ).resolves.toBe(true);
  });

  test('client ids compare exactly on the table as it is, whatever its collation', async () => {
    // The seed's DDL on MariaDB/MySQL gets a case-insensitive, PAD SPACE collation. The migrations made it
    // binary, which is still PAD SPACE ('exact ' finds 'exact'): the repository checks the id it read back.
    for (const clientId of ['EXACT', 'Exact', 'exact ']) {
      expectInvalidClient(
        await tokenRequest(app)
          .set('Authorization', basicHeader(clientId, 'exact-pass'))
          .send(GRANT),
      );
    }
    expect(await secretOf('exact')).toBe('exact-pass');
    const res = await tokenRequest(app)
      .set('Authorization', basicHeader('exact', 'exact-pass'))
      .send(GRANT);
    expect(res.status).toBe(200);
  });

  test('writes by another case of an id never reach the row, whatever the collation', async () => {
    const repository = app.get(OAuthClientRepository);
    const stored = await secretOf('exact');
    expect(stored).toBeTruthy();
    expect(await repository.updateSecret('EXACT', stored!, 'hijacked')).toBe(false);
    expect(await repository.delete('Exact')).toBe(false);
    // A case-insensitive primary key refuses the insert; a case-sensitive one takes a second client.
    await repository
      .save(OAuthClient.create({ clientId: 'EXACT', clientSecret: 'hijacked' }))
      .catch(() => undefined);
    expect(await secretOf('exact')).toBe(stored);
  });

  test('legacyPlaintextSecrets off: a plaintext row gets 401 invalid_client and stays', async () => {
    // Started last: passport's strategies are process-wide, and the latest app's replace the earlier ones.
    strictApp = await startApp(legacyApp(db.options, tableCase, false), { platform });
    expectInvalidClient(
      await tokenRequest(strictApp)
        .set('Authorization', basicHeader('dormant', 'dormant-pass'))
        .send(GRANT),
    );
    expectInvalidClient(
      await tokenRequest(strictApp).send(`${GRANT}&client_id=dormant&client_secret=dormant-pass`),
    );
    expect(await secretOf('dormant')).toBe('dormant-pass');
  });
});

describe.each(databases)(
  'nest-oauth2 client hash-legacy-secrets on the seed DDL ($name)',
  (database) => {
    let db: LegacyDatabase;
    let app: INestApplication | undefined;
    const TABLE = 'yii_oauth_clients';
    const secretOf = (clientId: string) =>
      withDataSource(db.options, (dataSource) => storedSecret(dataSource, TABLE, clientId));

    beforeAll(async () => {
      db = await legacyDatabase(database);
      await withDataSource(db.options, (dataSource) =>
        createSeedTable(dataSource, TABLE, [
          ['testclient', 'testpass', 'reports:read'],
          ['other', 'other-pass', null],
          ['public', null, null],
        ]),
      );
    });
    afterAll(async () => {
      await app?.close();
      await db?.drop();
    });

    test('hashes the plaintext rows in place; then the module works with legacy off', async () => {
      const env = { DATABASE_URL: db.url, OAUTH2_TABLE_PREFIX: 'yii_' };
      const cwd = tempDir('oauth2-legacy-cli-');
      try {
        // The client commands need the migrated tables: the seed table is adopted, rows and all.
        expect(await runCapturing(['migrate'], env, cwd.path)).toEqual({
          code: 0,
          stdout: [
            'OAuth2CreateClientTable_yii_oauth_clients_1795564800000',
            'OAuth2ClientIdBinaryCollation_yii_oauth_clients_1795996800000',
            'OAuth2CreateSigningKeyTable_yii_oauth_signing_keys_1796601600000',
            'OAuth2ClientLifecycleColumns_yii_oauth_clients_1798502400000',
            'OAuth2CreateClientSecretTable_yii_oauth_client_secrets_1798588800000',
          ]
            .map((name) => `Applied ${name}\n`)
            .join(''),
          stderr: '',
        });
        const result = await runCapturing(['client', 'hash-legacy-secrets'], env, cwd.path);
        expect(result).toEqual({
          code: 0,
          stdout: 'Hashed 2 plaintext client secrets.\n',
          stderr: '',
        });
        const again = await runCapturing(
          ['client', 'hash-legacy-secrets', '--json'],
          env,
          cwd.path,
        );
        expect(again).toEqual({
          code: 0,
          stdout:
            '{\n  "hashed": 0,\n  "skipped": 0,\n  "notOurs": 0,\n  "interrupted": false\n}\n',
          stderr: '',
        });
      } finally {
        cwd.remove();
      }

      const testclient = await secretOf('testclient');
      expect(testclient).toMatch(SCRYPT);
      expect(testclient!.length).toBeLessThanOrEqual(80);
      await expect(hasher.verify('testpass', testclient!)).resolves.toBe(true);
      await expect(hasher.verify('other-pass', (await secretOf('other'))!)).resolves.toBe(true);
      expect(await secretOf('public')).toBeNull();

      app = await startApp(
        legacyApp(
          db.options,
          { table: TABLE, extras: { tableName: 'oauth_clients', tablePrefix: 'yii_' } },
          false,
        ),
      );
      const res = await tokenRequest(app)
        .set('Authorization', basicHeader('testclient', 'testpass'))
        .send(GRANT);
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe('reports:read');
      expectInvalidClient(
        await tokenRequest(app).set('Authorization', basicHeader('testclient', 'x')).send(GRANT),
      );
    });
  },
);

describe.each(databases)('a seed table whose user_id is an INTEGER ($name)', (database) => {
  let db: LegacyDatabase;
  let app: INestApplication | undefined;
  const TABLE = 'oauth_clients';

  beforeAll(async () => {
    db = await legacyDatabase(database);
    await withDataSource(db.options, async (dataSource) => {
      await createSeedTable(
        dataSource,
        TABLE,
        [['delegate', 'delegate-pass', 'reports:read']],
        SEED_COLUMNS.replace('user_id VARCHAR(80)', 'user_id INTEGER'),
      );
      await dataSource.query(`UPDATE ${rawTable(dataSource.options, TABLE)} SET user_id = 42`);
    });
    await migrateSeedTable(db.options);
    app = await startApp(legacyApp(db.options, { table: TABLE, extras: {} }, true));
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  test('sub is the user id as a string (RFC 7519 §4.1.2), and the guard accepts the token', async () => {
    const res = await tokenRequest(app!)
      .set('Authorization', basicHeader('delegate', 'delegate-pass'))
      .send(GRANT);
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).payload).toMatchObject({
      sub: '42',
      client_id: 'delegate',
    });
    const who = await request(app!.getHttpServer())
      .get('/api/whoami')
      .set('Authorization', `Bearer ${res.body.access_token}`);
    expect({ status: who.status, body: who.body }).toEqual({
      status: 200,
      body: { client_id: 'delegate', sub: '42', scope: 'reports:read' },
    });
  });

  test("the sub rule reads the number as the string it becomes: a new client '42' is refused, others are not", async () => {
    const repository = app!.get(OAuthClientRepository);
    await expect(repository.save(OAuthClient.create({ clientId: '42' }))).rejects.toThrow(
      "client '42': the id is the user_id of client 'delegate'",
    );
    await repository.save(OAuthClient.create({ clientId: 'newcomer', scope: 'reports:read' }));
    expect((await repository.findById('newcomer'))?.scope).toBe('reports:read');
    expect(await repository.findById('42')).toBeNull();
  });
});
