import { afterAll, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { Redis } from 'ioredis';
import {
  InMemoryOAuth2ChangeFeed,
  InMemoryOAuth2RevocationStore,
  type OAuth2Change,
  type OAuth2RedisOptions,
  type OAuth2RevocationRecord,
} from '../src/index.js';
import type { RedisState } from '../src/redis/redis-state.js';
import type { CliDependencies } from '../src/cli/run-cli.js';
import { readClientRows, runCapturing, tempDir, type CliResult } from './support/cli.js';
import { freePort } from './support/http-server.js';
import { KEK } from './support/key-store.js';
import { requireRedis, testRedisUrl, uniqueRedisPrefix } from './support/redis.js';
import { changeChannel } from '../src/redis/redis-change-feed.js';
import { RedisConnection } from '../src/redis/redis-connection.js';
import { RedisOAuth2ChangeFeed } from '../src/redis/redis-change-feed.js';
import { RedisOAuth2RevocationStore } from '../src/redis/redis-revocation.store.js';

/**
 * The CLI with REDIS_URL: after each database change it tells the servers through their shared store
 * (store.redis). Here against a recording store, so that what every command announces is asserted exactly; the
 * real Redis and an unreachable one further down.
 */

/** What the CLI did with its store, in order: revocations recorded, changes published, connections closed. */
type Event =
  | { revoked: OAuth2RevocationRecord }
  | { published: OAuth2Change }
  | { connected: OAuth2RedisOptions }
  | 'closed';

let dir: ReturnType<typeof tempDir>;
let databaseUrl: string;
let events: Event[];
/** When set, the store's publish() rejects with it: Redis went away after the connection. */
let publishFails: Error | undefined;

/** A store that records instead of reaching Redis. */
const recording: CliDependencies['connectRedis'] = async (options) => {
  events.push({ connected: options });
  const feed = new InMemoryOAuth2ChangeFeed();
  feed.subscribe((change) => events.push({ published: change }));
  const revocations = new (class extends InMemoryOAuth2RevocationStore {
    override async revoke(revocation: OAuth2RevocationRecord): Promise<void> {
      events.push({ revoked: revocation });
    }
  })();
  return {
    feed: Object.assign(feed, {
      publish: async (change: OAuth2Change) => {
        if (publishFails) throw publishFails;
        events.push({ published: change });
      },
    }),
    revocations,
    close: async () => void events.push('closed'),
  } satisfies RedisState;
};

const REDIS_URL = 'redis://default:hunter2-redis@cache.internal:6379';
const REDIS = { REDIS_URL, OAUTH2_REDIS_KEY_PREFIX: 'auth:' };

/** The CLI against this test's database, with `env` and the recording store. */
const cli = (env: Record<string, string>, ...argv: string[]): Promise<CliResult> =>
  runCapturing(argv, { DATABASE_URL: databaseUrl, ...env }, dir.path, {
    connectRedis: recording,
  });
const withRedis = (...argv: string[]) => cli(REDIS, ...argv);

const connected = { connected: { url: REDIS_URL, keyPrefix: 'auth:' } };
const client = (clientId: string) => ({ published: { type: 'client', clientId } });
const keys = { published: { type: 'keys' } };
/** A client's revocation made between `before` and `after` (ms), kept for `lifetime` s and one more. */
const revokedClient = (clientId: string, before: number, after: number, lifetime = 86400) => {
  const event = events.find(
    (e): e is { revoked: OAuth2RevocationRecord } => 'revoked' in Object(e),
  );
  expect(event?.revoked).toEqual({
    kind: 'client',
    clientId,
    notBefore: expect.any(Number),
    expiresAt: expect.any(Number),
  });
  const record = event!.revoked as Extract<OAuth2RevocationRecord, { kind: 'client' }>;
  expect(record.notBefore).toBeGreaterThanOrEqual(before);
  expect(record.notBefore).toBeLessThanOrEqual(after);
  expect(record.expiresAt).toBe(record.notBefore + (lifetime + 1) * 1000);
  return event;
};

/** Runs `argv` with REDIS_URL and returns what it announced (the events of this command only). */
async function announced(...argv: string[]): Promise<{ result: CliResult; events: Event[] }> {
  events = [];
  const result = await withRedis(...argv);
  expect(result.stderr).not.toMatch(/nest-oauth2: (?!warning: client '.*' has no unexpired)/);
  expect(result.code).toBe(0);
  return { result, events };
}

beforeAll(() => {
  dir = tempDir('oauth2-cli-redis-');
});
afterAll(() => dir.remove());

let counter = 0;
beforeEach(async () => {
  databaseUrl = `sqlite:./db-${++counter}.sqlite`;
  events = [];
  publishFails = undefined;
  expect((await cli({}, 'migrate')).code).toBe(0);
});

describe('with REDIS_URL, every change is announced after the database change', () => {
  test('client commands: the client is evicted everywhere', async () => {
    expect((await announced('client', 'create', '--id', 'svc')).events).toEqual([
      connected,
      client('svc'),
      'closed',
    ]);
    expect((await announced('client', 'update', 'svc', '--scope', 'a b')).events).toEqual([
      connected,
      client('svc'),
      'closed',
    ]);
    const added = await announced('client', 'secret', 'add', 'svc', '--json');
    expect(added.events).toEqual([connected, client('svc'), 'closed']);
    expect(
      (await announced('client', 'rotate-secret', 'svc', '--keep-old-for', '1h')).events,
    ).toEqual([connected, client('svc'), 'closed']);
    expect((await announced('client', 'enable', 'svc')).events).toEqual([
      connected,
      client('svc'),
      'closed',
    ]);
    // One secret of several: the client keeps its tokens.
    const { secretId } = JSON.parse(added.result.stdout) as { secretId: string };
    expect((await announced('client', 'secret', 'revoke', 'svc', secretId)).events).toEqual([
      connected,
      client('svc'),
      'closed',
    ]);
  });

  test('disable, delete and revoking the last live secret also revoke the tokens the client holds', async () => {
    await withRedis('client', 'create', '--id', 'svc');
    let before = Date.now();
    await announced('client', 'disable', 'svc');
    let revoked = revokedClient('svc', before, Date.now());
    // Recorded before the eviction: a server that reloads the client already refuses its tokens.
    expect(events).toEqual([connected, revoked, client('svc'), 'closed']);

    await withRedis('client', 'enable', 'svc');
    before = Date.now();
    const { result } = await announced('client', 'secret', 'revoke', 'svc', 'primary');
    expect(result.stderr).toContain("client 'svc' has no unexpired secret left");
    revoked = revokedClient('svc', before, Date.now());
    expect(events).toEqual([connected, revoked, client('svc'), 'closed']);

    // The revocation lasts as long as the longest token the servers may issue.
    before = Date.now();
    events = [];
    const deleted = await cli(
      { ...REDIS, OAUTH2_MAX_ACCESS_TOKEN_LIFETIME: '600' },
      'client',
      'delete',
      'svc',
    );
    expect(deleted).toEqual({ code: 0, stdout: "Deleted client 'svc'.\n", stderr: '' });
    revoked = revokedClient('svc', before, Date.now(), 600);
    expect(events).toEqual([connected, revoked, client('svc'), 'closed']);
  });

  test('key commands that change what signs or verifies reload every key ring; the others say nothing', async () => {
    const env = {
      ...REDIS,
      OAUTH2_KEY_ENCRYPTION_KEY: KEK,
      OAUTH2_JWKS_MAX_AGE: '0',
      OAUTH2_KEY_REFRESH_INTERVAL: '1',
    };
    const run = async (...argv: string[]) => {
      events = [];
      const [word, ...rest] = argv;
      const result = await cli(env, 'keys', word, '--json', ...rest);
      expect(result.code).toBe(0);
      return { kid: (JSON.parse(result.stdout) as { kid?: string }).kid!, events };
    };
    expect((await run('generate', '--activate')).events).toEqual([connected, keys, 'closed']);
    const next = await run('generate');
    expect(next.events).toEqual([connected, keys, 'closed']);
    // A kid may start with '-'.
    expect((await run('activate', '--force', '--', next.kid)).events).toEqual([
      connected,
      keys,
      'closed',
    ]);
    expect((await run('activate', '--', next.kid)).events).toEqual([]);
    const spare = await run('generate');
    expect((await run('retire', '--', spare.kid)).events).toEqual([connected, keys, 'closed']);
    expect((await run('retire', '--', spare.kid)).events).toEqual([]);
    expect((await run('prune')).events).toEqual([]);
    expect((await run('list')).events).toEqual([]);
  });

  test('commands that change nothing never connect', async () => {
    await withRedis('client', 'create', '--id', 'svc');
    for (const argv of [
      ['client', 'list'],
      ['client', 'show', 'svc'],
      ['client', 'secret', 'list', 'svc'],
      ['client', 'hash-legacy-secrets'],
      ['migrate'],
    ]) {
      events = [];
      expect(await withRedis(...argv)).toMatchObject({ code: 0, stderr: '' });
      expect(events).toEqual([]);
    }
  });

  test('a refused change is not announced', async () => {
    const result = await withRedis('client', 'disable', 'nobody');
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/^nest-oauth2: .*nobody.*\n$/);
    expect(events).toEqual([]);
  });
});

describe('client revoke-tokens', () => {
  test("records the client's revocation: every token it holds now is refused", async () => {
    const before = Date.now();
    const result = await withRedis('client', 'revoke-tokens', 'svc');
    const revoked = revokedClient('svc', before, Date.now());
    expect(events).toEqual([connected, revoked, 'closed']);
    const record = revoked!.revoked as Extract<OAuth2RevocationRecord, { kind: 'client' }>;
    expect(result).toEqual({
      code: 0,
      stdout: `Revoked the access tokens of client 'svc' issued until ${new Date(record.notBefore).toISOString()}.\n`,
      stderr: '',
    });
    // The id need not be in the database: a deleted client's tokens can still be revoked.
    expect(await readClientRows(databaseUrl, dir.path)).toEqual([]);
  });

  test('without REDIS_URL it is refused, and nothing connects', async () => {
    const result = await cli({}, 'client', 'revoke-tokens', 'svc');
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        "nest-oauth2: 'client revoke-tokens' needs REDIS_URL: the Redis of the servers' store.redis\n",
    });
    expect(events).toEqual([]);
  });

  test('when Redis fails it says that nothing was revoked, without the password', async () => {
    const failing: CliDependencies['connectRedis'] = async () => {
      throw new Error(`connect ECONNREFUSED (${REDIS_URL})`);
    };
    const result = await runCapturing(
      ['client', 'revoke-tokens', 'svc'],
      { DATABASE_URL: databaseUrl, ...REDIS },
      dir.path,
      { connectRedis: failing },
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'nest-oauth2: REDIS_URL: connect ECONNREFUSED (redis://default:***@cache.internal:6379)\n',
    );
  });
});

describe('REDIS_URL', () => {
  test.each(['http://user:hunter2@cache:6379', 'cache:6379'])(
    '%s is refused before any change, never quoted',
    async (url) => {
      const result = await cli({ REDIS_URL: url }, 'client', 'create', '--id', 'svc');
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: 'nest-oauth2: REDIS_URL must be a redis:// or rediss:// URL\n',
      });
      expect(await readClientRows(databaseUrl, dir.path)).toEqual([]);
    },
  );

  test('without it nothing is announced, as before', async () => {
    const connect = jest.fn(recording!);
    const result = await runCapturing(
      ['client', 'create', '--id', 'svc'],
      { DATABASE_URL: databaseUrl },
      dir.path,
      { connectRedis: connect },
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(connect).not.toHaveBeenCalled();
  });

  test('the usage says what it does, and the exit status of an unannounced change', async () => {
    const { stdout } = await cli({}, '--help');
    const text = stdout.replace(/\s+/g, ' ');
    expect(text).toContain('With REDIS_URL (redis:// or rediss://');
    expect(text).toContain('client revoke-tokens <id>');
    expect(text).toContain(
      '3 when the change is saved but REDIS_URL could not be reached to announce it',
    );
  });
});

describe('Redis failing after the database change', () => {
  test('the change stands, the output is whole, a warning says what the servers miss, exit 3', async () => {
    publishFails = new Error(`Command timed out (${REDIS_URL})`);
    const result = await withRedis('client', 'create', '--id', 'svc');
    // The secret is printed: it exists now and cannot be shown again.
    expect(result.stdout).toMatch(/^Client secret: \S+$/m);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      'nest-oauth2: warning: the change is saved in the database, but the servers were not told of it ' +
        '(Command timed out (redis://default:***@cache.internal:6379)): each server sees the change to ' +
        "client 'svc' only when its client cache entry expires (5 s by default)\n",
    );
    expect((await readClientRows(databaseUrl, dir.path)).map((row) => row.client_id)).toEqual([
      'svc',
    ]);

    const disabled = await withRedis('client', 'disable', 'svc');
    expect(disabled.code).toBe(3);
    expect(disabled.stdout).toBe("Disabled client 'svc'.\n");
    expect(disabled.stderr).toContain(
      "the access tokens client 'svc' already holds stay valid until they expire (run " +
        '`nest-oauth2 client revoke-tokens svc` once Redis is back)',
    );
    expect((await readClientRows(databaseUrl, dir.path))[0].disabled).toBeTruthy();
  });
});

describe('REDIS_URL that cannot be reached (a closed port)', () => {
  test('a change stands, with a warning saying what the servers miss, exit 3; revoke-tokens fails', async () => {
    const port = await freePort();
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: `redis://:hunter2-redis@127.0.0.1:${port}`,
    };
    expect(
      (
        await runCapturing(
          ['client', 'create', '--id', 'svc'],
          { DATABASE_URL: databaseUrl },
          dir.path,
        )
      ).code,
    ).toBe(0);

    const disabled = await runCapturing(['client', 'disable', 'svc'], env, dir.path);
    expect(disabled.code).toBe(3);
    expect(disabled.stdout).toBe("Disabled client 'svc'.\n");
    expect(disabled.stderr).toBe(
      'nest-oauth2: warning: the change is saved in the database, but the servers were not told of it ' +
        `(REDIS_URL: Redis at redis://127.0.0.1:${port} cannot be reached within 5000 ms ` +
        `(ECONNREFUSED)): each server sees the change to client 'svc' ` +
        "only when its client cache entry expires (5 s by default); the access tokens client 'svc' " +
        'already holds stay valid until they expire (run `nest-oauth2 client revoke-tokens svc` once ' +
        'Redis is back)\n',
    );
    expect((await readClientRows(databaseUrl, dir.path))[0].disabled).toBeTruthy();

    const revoked = await runCapturing(['client', 'revoke-tokens', 'svc'], env, dir.path);
    expect(revoked).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `nest-oauth2: REDIS_URL: Redis at redis://127.0.0.1:${port} cannot be reached within ` +
        '5000 ms (ECONNREFUSED)\n',
    });
  }, 20_000);
});

(testRedisUrl ? describe : describe.skip)('on Redis (OAUTH2_TEST_REDIS_URL)', () => {
  test("the servers' channel carries each change; the revocation is stored for every instance", async () => {
    await requireRedis();
    const keyPrefix = uniqueRedisPrefix();
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: testRedisUrl!,
      OAUTH2_REDIS_KEY_PREFIX: keyPrefix,
    };
    const listener = new Redis(testRedisUrl!);
    const connection = await RedisConnection.open(
      { url: testRedisUrl!, keyPrefix, commandTimeoutMs: 2000 },
      { waitMs: 5000 },
    );
    try {
      const heard: unknown[] = [];
      listener.on('message', (_channel: string, message: string) =>
        heard.push(JSON.parse(message)),
      );
      await listener.subscribe(changeChannel(keyPrefix));

      const run = (...argv: string[]) => runCapturing(argv, env, dir.path);
      expect((await run('client', 'create', '--id', 'svc')).code).toBe(0);
      const before = Date.now();
      expect(await run('client', 'disable', 'svc')).toEqual({
        code: 0,
        stdout: "Disabled client 'svc'.\n",
        stderr: '',
      });
      const after = Date.now();
      expect(await run('client', 'list')).toMatchObject({ code: 0 });

      // Messages reach a subscriber in the order they were published; a moment after.
      const deadline = Date.now() + 1000;
      while (heard.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(heard).toEqual([
        { type: 'client', clientId: 'svc' },
        {
          type: 'revocation',
          revocation: {
            kind: 'client',
            clientId: 'svc',
            notBefore: expect.any(Number),
            expiresAt: expect.any(Number),
          },
        },
        { type: 'client', clientId: 'svc' },
      ]);
      const { notBefore, expiresAt } = (
        heard[1] as { revocation: { notBefore: number; expiresAt: number } }
      ).revocation;
      expect(notBefore).toBeGreaterThanOrEqual(before);
      expect(notBefore).toBeLessThanOrEqual(after);
      expect(expiresAt).toBe(notBefore + 86401 * 1000);

      // What an instance loads at start or on resync: the client's tokens until then are refused.
      const store = new RedisOAuth2RevocationStore(
        connection,
        new RedisOAuth2ChangeFeed(connection),
      );
      expect(await store.reload()).toBe(true);
      const issuedAt = Math.floor(notBefore / 1000);
      expect(store.isRevoked({ jti: 'a', clientId: 'svc', issuedAt })).toBe(true);
      expect(store.isRevoked({ jti: 'b', clientId: 'svc', issuedAt: issuedAt + 1 })).toBe(false);
      expect(store.isRevoked({ jti: 'c', clientId: 'other', issuedAt })).toBe(false);
    } finally {
      listener.disconnect();
      await connection.close();
    }
  });
});
