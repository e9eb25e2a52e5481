import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { DataSource, type DataSourceOptions, type Logger, type Repository } from 'typeorm';
import { OAuthStoredClientSecret } from '../src/clients/oauth-client-secret.entity.js';
import { PRIMARY_SECRET_ID } from '../src/clients/oauth-client.entity.js';
import { OAuthSubjectConflictError } from '../src/clients/subject.js';
import {
  oauth2Entities,
  oauth2Migrations,
  OAuthClient,
  OAuthClientRepository,
  TypeOrmOAuthClientRepository,
} from '../src/index.js';
import { clientSecret as secret, T1, T2, T3 } from './support/client-secrets.js';
import { databases, type IsolatedDatabase } from './support/databases.js';
import { rawTable } from './support/legacy.js';

/**
 * The TypeORM client repository against each database, over a schema made by the migrations (exact ids in
 * the database too) and by `synchronize` (on MariaDB/MySQL, case-insensitive and PAD SPACE columns): the
 * repository must be exact either way.
 */

/** Keeps the UPDATE statements TypeORM sends while `recording` is on. */
class UpdateRecorder implements Logger {
  recording = false;
  readonly updates: string[] = [];
  logQuery(query: string): void {
    if (this.recording && /^\s*UPDATE\b/i.test(query)) this.updates.push(query);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
  /** The columns each recorded UPDATE sets, without quotes. */
  setColumns(): string[][] {
    return this.updates.map((query) =>
      /\bSET (.*) WHERE\b/is
        .exec(query)![1]
        .split(',')
        .map((assignment) => assignment.split('=')[0].trim().replace(/["`]/g, '')),
    );
  }
}

/**
 * A storage of one's own with the five abstract methods only (say, a table read through plain TypeORM): it
 * keeps `client_secret` and gets the secret methods' defaults.
 */
class ClientSecretOnlyRepository extends OAuthClientRepository {
  constructor(private readonly repository: Repository<OAuthClient>) {
    super();
  }
  async findById(clientId: string) {
    const client = await this.repository.findOneBy({ clientId });
    return client?.clientId === clientId ? client : null;
  }
  list() {
    return this.repository.find({ order: { clientId: 'ASC' } });
  }
  async save(client: OAuthClient) {
    await this.repository.save(this.repository.create(client));
  }
  async updateSecret(clientId: string, expected: string, next: string) {
    const result = await this.repository.update(
      { clientId, clientSecret: expected },
      { clientSecret: next },
    );
    return (result.affected ?? 0) > 0;
  }
  async delete(clientId: string) {
    return ((await this.repository.delete({ clientId })).affected ?? 0) > 0;
  }
}

const cases = databases.flatMap((database) =>
  (['migrations', 'synchronize'] as const).map((schema) => ({
    name: `${database.name}, schema by ${schema}`,
    database,
    schema,
  })),
);

describe.each(cases)('TypeOrmOAuthClientRepository ($name)', ({ database, schema }) => {
  let isolated: IsolatedDatabase;
  let dataSource: DataSource;
  let secretRows: Repository<OAuthStoredClientSecret>;
  let repository: TypeOrmOAuthClientRepository;
  const recorder = new UpdateRecorder();

  beforeAll(async () => {
    isolated = await database.create();
    dataSource = new DataSource({
      ...isolated.options,
      entities: oauth2Entities(),
      migrations: oauth2Migrations(),
      synchronize: schema === 'synchronize',
      logger: recorder,
    } as DataSourceOptions);
    await dataSource.initialize();
    if (schema === 'migrations') await dataSource.runMigrations();
    secretRows = dataSource.getRepository(OAuthStoredClientSecret);
    repository = new TypeOrmOAuthClientRepository(
      dataSource.getRepository(OAuthClient),
      secretRows,
    );
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await isolated?.drop();
  });
  beforeEach(async () => {
    recorder.recording = false;
    recorder.updates.length = 0;
    await secretRows.clear();
    await dataSource.getRepository(OAuthClient).clear();
  });

  /** The secret table's rows as plain SQL sees them: [id, client_id]. */
  const rowsInTable = async () =>
    (
      await dataSource.query<Array<{ id: string; client_id: string }>>(
        `SELECT id, client_id FROM ${rawTable(dataSource.options, 'oauth_client_secrets')} ORDER BY id`,
      )
    ).map((row) => [row.id, row.client_id]);

  /** A secret row written past the repository, as another writer (or a failed delete) may leave one. */
  const insertRow = (id: string, clientId: string) =>
    secretRows.insert({ id, clientId, secretHash: 'theirs', createdAt: T1 });

  const withClient = async (fields: Partial<OAuthClient> = {}) => {
    await repository.save(OAuthClient.create({ clientId: 'svc', clientSecret: 'h0', ...fields }));
  };

  /** svc (client_secret h0) with secrets s1 and s2; other with o1. */
  const withTwoClients = async () => {
    await withClient();
    await repository.save(OAuthClient.create({ clientId: 'other' }));
    await repository.addSecret('svc', secret('s1'));
    await repository.addSecret('svc', secret('s2'));
    await repository.addSecret('other', secret('o1'));
  };

  describe('the client columns', () => {
    test('every lifecycle column reads back as written: `disabled` a boolean, times to the millisecond past 2038', async () => {
      const client = OAuthClient.create({
        clientId: 'full',
        clientSecret: 'h0',
        clientSecretExpiresAt: T3,
        clientSecretLastUsedAt: T1,
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: '{"keys":[]}',
        jwksUri: 'https://client.example/jwks',
        accessTokenLifetime: 600,
        audience: 'https://api.example/',
        disabled: true,
      });
      await repository.save(client);
      await repository.save(OAuthClient.create({ clientId: 'plain' }));
      const found = await repository.findById('full');
      expect(found).toEqual(client);
      expect(found!.disabled).toBe(true);
      expect(found!.clientSecretExpiresAt).toBeInstanceOf(Date);
      expect((await repository.findById('plain'))!.disabled).toBe(false);
      expect((await repository.list()).map((c) => [c.clientId, c.disabled])).toEqual([
        ['full', true],
        ['plain', false],
      ]);

      await repository.save(OAuthClient.create({ ...client, disabled: false }));
      expect((await repository.findById('full'))!.disabled).toBe(false);
    });
  });

  describe('the secret methods', () => {
    test('addSecret and findSecrets: oldest first, every time read back to the millisecond', async () => {
      await withClient();
      expect(await repository.findSecrets('svc')).toEqual([]);
      await repository.addSecret('svc', secret('s-late', { createdAt: T2, expiresAt: T3 }));
      await repository.addSecret('svc', secret('s-early', { lastUsedAt: T3 }));
      const found = await repository.findSecrets('svc');
      expect(found).toEqual([
        secret('s-early', { lastUsedAt: T3 }),
        secret('s-late', { createdAt: T2, expiresAt: T3 }),
      ]);
      expect(found[0].createdAt).toBeInstanceOf(Date);
      // A secret without a creation time is given the present one.
      const before = Date.now();
      await repository.addSecret('svc', secret('s-now', { createdAt: null }));
      const after = Date.now();
      const now = (await repository.findSecrets('svc')).find((s) => s.id === 's-now');
      expect(now!.createdAt!.getTime()).toBeGreaterThanOrEqual(before);
      expect(now!.createdAt!.getTime()).toBeLessThanOrEqual(after);
    });

    test('addSecret refuses an unknown client, the id `primary`, an id the column cannot hold, and a taken id', async () => {
      await withClient();
      await repository.save(OAuthClient.create({ clientId: 'other' }));
      await expect(repository.addSecret('nobody', secret('s1'))).rejects.toThrow(
        "no client with id 'nobody'",
      );
      for (const id of [PRIMARY_SECRET_ID, '', 'x'.repeat(41), 'with space', 'ünïcode']) {
        await expect(repository.addSecret('svc', secret(id))).rejects.toThrow(
          "client 'svc': a secret id is 1 to 40 printable ASCII characters without spaces, and not 'primary'",
        );
      }
      await repository.addSecret('svc', secret('x'.repeat(40)));
      await repository.addSecret('svc', secret('taken'));
      await expect(repository.addSecret('svc', secret('taken'))).rejects.toThrow();
      await expect(repository.addSecret('other', secret('taken'))).rejects.toThrow();
      expect(await rowsInTable()).toEqual([
        ['taken', 'svc'],
        ['x'.repeat(40), 'svc'],
      ]);
    });

    test('removeSecret: its own secret → true; another client’s, an unknown one, or `primary` → false', async () => {
      await withTwoClients();

      expect(await repository.removeSecret('svc', 'o1')).toBe(false);
      expect(await repository.removeSecret('svc', 'nope')).toBe(false);
      expect(await repository.removeSecret('nobody', 's1')).toBe(false);
      expect(await repository.removeSecret('svc', PRIMARY_SECRET_ID)).toBe(false);
      expect((await repository.findById('svc'))!.clientSecret).toBe('h0');

      expect(await repository.removeSecret('svc', 's1')).toBe(true);
      expect(await repository.removeSecret('svc', 's1')).toBe(false);
      expect(await rowsInTable()).toEqual([
        ['o1', 'other'],
        ['s2', 'svc'],
      ]);
    });

    test('expireSecrets shortens the named secrets (client_secret as `primary`) and never extends one', async () => {
      await withClient({ clientSecretExpiresAt: T3 });
      await repository.save(OAuthClient.create({ clientId: 'other' }));
      await repository.addSecret('svc', secret('never'));
      await repository.addSecret('svc', secret('later', { expiresAt: T3 }));
      await repository.addSecret('svc', secret('sooner', { expiresAt: T1 }));
      await repository.addSecret('svc', secret('same', { expiresAt: T2 }));
      await repository.addSecret('svc', secret('unnamed'));
      await repository.addSecret('other', secret('theirs'));

      recorder.recording = true;
      await repository.expireSecrets(
        'svc',
        [PRIMARY_SECRET_ID, 'never', 'later', 'sooner', 'same', 'theirs', 'nope'],
        T2,
      );
      recorder.recording = false;
      expect((await repository.findById('svc'))!.clientSecretExpiresAt).toEqual(T2);
      expect(
        (await repository.findSecrets('svc')).map((s) => [s.id, s.expiresAt?.toISOString()]),
      ).toEqual([
        ['later', T2.toISOString()],
        ['never', T2.toISOString()],
        ['same', T2.toISOString()],
        ['sooner', T1.toISOString()],
        ['unnamed', undefined],
      ]);
      expect((await repository.findSecrets('other'))[0].expiresAt).toBeNull();
      // Each write sets the expiry alone: nothing else of the row is read and written back.
      expect(new Set(recorder.setColumns().flat())).toEqual(
        new Set(['client_secret_expires_at', 'expires_at']),
      );

      // A later overlap never extends what an earlier one set; nor does one for client_secret.
      await repository.expireSecrets('svc', [PRIMARY_SECRET_ID, 'never', 'sooner'], T3);
      expect((await repository.findById('svc'))!.clientSecretExpiresAt).toEqual(T2);
      expect((await repository.findSecrets('svc')).map((s) => s.expiresAt)).toEqual([
        T2,
        T2,
        T2,
        T1,
        null,
      ]);
    });

    test('expireSecrets of `primary` where client_secret never expired, and for an unknown client', async () => {
      await withClient();
      await repository.expireSecrets('svc', [PRIMARY_SECRET_ID], T1);
      expect((await repository.findById('svc'))!.clientSecretExpiresAt).toEqual(T1);
      await repository.expireSecrets('nobody', [PRIMARY_SECRET_ID], T1);
      expect(await repository.findById('nobody')).toBeNull();
    });

    test('touchSecret records the last use with a single-column update, of the secret named', async () => {
      await withClient({ scope: 'a' });
      await repository.addSecret('svc', secret('s1'));
      await repository.addSecret('svc', secret('s2'));
      recorder.recording = true;
      await repository.touchSecret('svc', 's1', T3);
      await repository.touchSecret('svc', PRIMARY_SECRET_ID, T2);
      recorder.recording = false;
      expect(recorder.setColumns()).toEqual([['last_used_at'], ['client_secret_last_used_at']]);
      expect((await repository.findSecrets('svc')).map((s) => s.lastUsedAt)).toEqual([T3, null]);
      const client = await repository.findById('svc');
      expect(client).toEqual(
        OAuthClient.create({
          clientId: 'svc',
          clientSecret: 'h0',
          scope: 'a',
          clientSecretLastUsedAt: T2,
        }),
      );
    });

    test('touchSecret of another client’s secret or an unknown client writes nothing', async () => {
      await withClient();
      await repository.save(OAuthClient.create({ clientId: 'other' }));
      await repository.addSecret('other', secret('o1'));
      recorder.recording = true;
      await repository.touchSecret('svc', 'o1', T3);
      await repository.touchSecret('nobody', PRIMARY_SECRET_ID, T3);
      await repository.touchSecret('nobody', 'o1', T3);
      recorder.recording = false;
      expect(recorder.updates).toEqual([]);
      expect((await repository.findSecrets('other'))[0].lastUsedAt).toBeNull();
    });

    test('delete removes the client with its secret rows; a new client of that id starts with none', async () => {
      await withTwoClients();
      expect(await repository.delete('svc')).toBe(true);
      expect(await repository.delete('svc')).toBe(false);
      expect(await rowsInTable()).toEqual([['o1', 'other']]);

      // A row left under the id (a delete that failed half-way) is not handed to a new client of that id.
      await insertRow('left', 'svc');
      await withClient();
      expect(await repository.findSecrets('svc')).toEqual([]);
      expect(await rowsInTable()).toEqual([['o1', 'other']]);
    });

    test('ids are exact, whatever the collation: another case or a trailing space is another client', async () => {
      await withClient();
      await repository.addSecret('svc', secret('s1', { expiresAt: T3 }));
      // A row of another id that differs only in case (a client of its own where ids are exact).
      await insertRow('upper', 'SVC');
      expect((await repository.findSecrets('svc')).map((s) => s.id)).toEqual(['s1']);
      for (const other of ['SVC', 'Svc', 'svc ']) {
        expect(await repository.findById(other)).toBeNull();
        expect((await repository.findSecrets(other)).map((s) => s.id)).toEqual(
          other === 'SVC' ? ['upper'] : [],
        );
        await expect(repository.addSecret(other, secret(`x-${other.trim()}`))).rejects.toThrow(
          `no client with id '${other}'`,
        );
        expect(await repository.removeSecret(other, 's1')).toBe(false);
        await repository.expireSecrets(other, [PRIMARY_SECRET_ID, 's1'], T1);
        await repository.touchSecret(other, 's1', T1);
        await repository.touchSecret(other, PRIMARY_SECRET_ID, T1);
        expect(await repository.updateSecret(other, 'h0', 'hijacked')).toBe(false);
        expect(await repository.delete(other)).toBe(false);
      }
      expect(await repository.findById('svc')).toEqual(
        OAuthClient.create({ clientId: 'svc', clientSecret: 'h0' }),
      );
      expect(await repository.findSecrets('svc')).toEqual([secret('s1', { expiresAt: T3 })]);

      // Deleting svc takes its own rows only, not SVC's.
      expect(await repository.delete('svc')).toBe(true);
      expect(await rowsInTable()).toEqual([['upper', 'SVC']]);
    });
  });

  describe('the sub rule', () => {
    const conflict = (client: Partial<OAuthClient> & Pick<OAuthClient, 'clientId'>) =>
      expect(repository.save(OAuthClient.create(client))).rejects.toThrow(
        OAuthSubjectConflictError,
      );

    test('an empty user_id is refused', async () => {
      await conflict({ clientId: 'svc', userId: '' });
      await conflict({ clientId: 'svc', userId: '  ' });
      expect(await repository.findById('svc')).toBeNull();
      await withClient();
      await conflict({ clientId: 'svc', userId: '' });
      expect((await repository.findById('svc'))!.userId).toBeNull();
    });

    test("a user_id equal to another client's id is refused; its own id is allowed", async () => {
      await repository.save(OAuthClient.create({ clientId: 'alice' }));
      await expect(
        repository.save(OAuthClient.create({ clientId: 'bob', userId: 'alice' })),
      ).rejects.toThrow(
        "client 'bob': user_id 'alice' is another client's id, so both clients' tokens would have the same sub",
      );
      expect(await repository.findById('bob')).toBeNull();
      await repository.save(OAuthClient.create({ clientId: 'bob', userId: 'bob' }));
      await conflict({ clientId: 'bob', userId: 'alice' });
      expect((await repository.findById('bob'))!.userId).toBe('bob');
    });

    test("a new client whose id is another client's user_id is refused", async () => {
      await repository.save(OAuthClient.create({ clientId: 'bob', userId: 'carol' }));
      await expect(repository.save(OAuthClient.create({ clientId: 'carol' }))).rejects.toThrow(
        "client 'carol': the id is the user_id of client 'bob', so both clients' tokens would have the same sub",
      );
      expect(await repository.findById('carol')).toBeNull();
    });

    test('two clients with the same user_id are allowed', async () => {
      await repository.save(OAuthClient.create({ clientId: 'a', userId: 'user-7' }));
      await repository.save(OAuthClient.create({ clientId: 'b', userId: 'user-7' }));
      expect((await repository.list()).map((c) => [c.clientId, c.userId])).toEqual([
        ['a', 'user-7'],
        ['b', 'user-7'],
      ]);
    });

    test('a conflict stored before the rule does not keep its clients from being saved unchanged', async () => {
      // As a legacy table may hold it: bob acts as alice, who is a client too.
      await repository.save(OAuthClient.create({ clientId: 'bob', userId: 'alice' }));
      await dataSource
        .getRepository(OAuthClient)
        .insert(OAuthClient.create({ clientId: 'alice', clientSecret: 'h0' }));
      await repository.save(
        OAuthClient.create({ clientId: 'bob', userId: 'alice', disabled: true }),
      );
      await repository.save(OAuthClient.create({ clientId: 'alice', disabled: true }));
      await repository.expireSecrets('alice', [PRIMARY_SECRET_ID], T1);
      expect((await repository.list()).map((c) => [c.clientId, c.disabled])).toEqual([
        ['alice', true],
        ['bob', true],
      ]);
    });
  });

  describe('a custom storage with the five abstract methods only', () => {
    let custom: ClientSecretOnlyRepository;
    beforeAll(() => {
      custom = new ClientSecretOnlyRepository(dataSource.getRepository(OAuthClient));
    });

    test('findSecrets → none; removeSecret and touchSecret do nothing; addSecret is refused, saying why', async () => {
      await custom.save(OAuthClient.create({ clientId: 'svc', clientSecret: 'h0' }));
      expect(await custom.findSecrets('svc')).toEqual([]);
      expect(await custom.removeSecret('svc', PRIMARY_SECRET_ID)).toBe(false);
      await custom.touchSecret('svc', PRIMARY_SECRET_ID, T1);
      await expect(custom.addSecret('svc', secret('s1'))).rejects.toThrow(
        'ClientSecretOnlyRepository stores no secret besides client_secret',
      );
      expect(await rowsInTable()).toEqual([]);
      expect(await custom.findById('svc')).toEqual(
        OAuthClient.create({ clientId: 'svc', clientSecret: 'h0' }),
      );
    });

    test('expireSecrets of `primary` goes through findById and save, and never extends', async () => {
      await custom.save(OAuthClient.create({ clientId: 'svc', clientSecret: 'h0', scope: 'a' }));
      await custom.expireSecrets('svc', ['other-id'], T1);
      expect((await custom.findById('svc'))!.clientSecretExpiresAt).toBeNull();
      await custom.expireSecrets('svc', [PRIMARY_SECRET_ID], T2);
      expect(await custom.findById('svc')).toEqual(
        OAuthClient.create({
          clientId: 'svc',
          clientSecret: 'h0',
          scope: 'a',
          clientSecretExpiresAt: T2,
        }),
      );
      await custom.expireSecrets('svc', [PRIMARY_SECRET_ID], T3);
      expect((await custom.findById('svc'))!.clientSecretExpiresAt).toEqual(T2);
      await custom.expireSecrets('svc', [PRIMARY_SECRET_ID], T1);
      expect((await custom.findById('svc'))!.clientSecretExpiresAt).toEqual(T1);
      await custom.expireSecrets('nobody', [PRIMARY_SECRET_ID], T1);
      expect(await custom.findById('nobody')).toBeNull();
    });
  });
});
