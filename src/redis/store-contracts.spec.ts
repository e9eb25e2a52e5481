import { afterEach, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { Redis } from 'ioredis';
import { CapturingLogger } from '../../test/support/logger.js';
import { eventually } from '../../test/support/key-store.js';
import { requireRedis, testRedisUrl, uniqueRedisPrefix } from '../../test/support/redis.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import { InMemoryOAuth2ReplayStore } from '../client-auth/in-memory-replay.store.js';
import type { OAuth2ReplayStore } from '../client-auth/replay-store.js';
import {
  InMemoryOAuth2ThrottleStore,
  type OAuth2ThrottleStore,
} from '../client-auth/throttle.store.js';
import {
  InMemoryOAuth2ChangeFeed,
  type OAuth2Change,
  type OAuth2ChangeFeed,
} from '../state/change-feed.js';
import {
  InMemoryOAuth2RevocationStore,
  type OAuth2RevocationStore,
} from '../state/revocation-store.js';
import { changeChannel } from './redis-change-feed.js';
import { RedisConnection, RedisUnavailableError } from './redis-connection.js';
import { RedisOAuth2ChangeFeed } from './redis-change-feed.js';
import { RedisOAuth2ReplayStore } from './redis-replay.store.js';
import { RedisOAuth2RevocationStore } from './redis-revocation.store.js';
import { RedisOAuth2ThrottleStore } from './redis-throttle.store.js';

/** One instance's shared state, as the module wires it. */
interface Instance {
  throttle: OAuth2ThrottleStore;
  replay: OAuth2ReplayStore;
  feed: OAuth2ChangeFeed;
  revocations: OAuth2RevocationStore;
  connection?: RedisConnection;
  close(): Promise<void>;
}

const open: Instance[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((instance) => instance.close()));
});

function inMemory(): Instance {
  return {
    throttle: new InMemoryOAuth2ThrottleStore(),
    replay: new InMemoryOAuth2ReplayStore(),
    feed: new InMemoryOAuth2ChangeFeed(),
    revocations: new InMemoryOAuth2RevocationStore(),
    close: async () => undefined,
  };
}

async function onRedis(
  keyPrefix: string,
  { url = testRedisUrl!, logger = new CapturingLogger(), reloadIntervalMs = 10_000 } = {},
): Promise<Instance> {
  const connection = await RedisConnection.open(
    { url, keyPrefix, commandTimeoutMs: 300 },
    { waitMs: 2000, logger },
  );
  const feed = new RedisOAuth2ChangeFeed(connection, { logger });
  const revocations = new RedisOAuth2RevocationStore(connection, feed, { reloadIntervalMs });
  await revocations.onModuleInit();
  const instance: Instance = {
    throttle: new RedisOAuth2ThrottleStore(connection),
    replay: new RedisOAuth2ReplayStore(connection),
    feed,
    revocations,
    connection,
    close: async () => {
      revocations.onModuleDestroy();
      await connection.close();
    },
  };
  open.push(instance);
  return instance;
}

const backends: { name: string; instance: () => Promise<Instance> }[] = [
  { name: 'in memory', instance: async () => inMemory() },
  ...(testRedisUrl ? [{ name: 'Redis', instance: () => onRedis(uniqueRedisPrefix()) }] : []),
];

const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  if (testRedisUrl) await requireRedis();
});

describe.each(backends)('shared state contracts ($name)', ({ instance }) => {
  test('throttle: counts in a window that starts at the first failure; reset forgets', async () => {
    const { throttle } = await instance();
    const before = Date.now();
    const first = await throttle.increment('k', 60_000);
    expect(first.count).toBe(1);
    expect(first.resetAt).toBeGreaterThanOrEqual(before + 60_000);
    await sleep(200);
    const secondAt = Date.now();
    const second = await throttle.increment('k', 60_000);
    expect(second.count).toBe(2);
    // The window is the first failure's: a later one does not extend it.
    expect(second.resetAt).toBeLessThan(secondAt + 60_000 - 100);
    expect((await throttle.get('k'))?.count).toBe(2);
    expect(await throttle.get('other')).toBeUndefined();
    await throttle.reset('k');
    expect(await throttle.get('k')).toBeUndefined();
    expect((await throttle.increment('k', 60_000)).count).toBe(1);
  });

  test('throttle: a window that ended counts from 1 again', async () => {
    const { throttle } = await instance();
    await throttle.increment('short', 50);
    await sleep(120);
    expect(await throttle.get('short')).toBeUndefined();
    expect((await throttle.increment('short', 50)).count).toBe(1);
  });

  test('replay: a key is claimed once; a lapsed expiry is refused and never recorded', async () => {
    const { replay } = await instance();
    expect(await replay.claim('a', inSeconds(60))).toBe(true);
    expect(await replay.claim('a', inSeconds(60))).toBe(false);
    expect(await replay.claim('b', inSeconds(60))).toBe(true);
    expect(await replay.claim('late', inSeconds(-1))).toBe(false);
    expect(await replay.claim('late', inSeconds(60))).toBe(true);
    const results = await Promise.all([1, 2, 3, 4].map(() => replay.claim('c', inSeconds(60))));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test('replay: once expired, a key can be claimed again', async () => {
    const { replay } = await instance();
    expect(await replay.claim('soon', new Date(Date.now() + 80))).toBe(true);
    await sleep(150);
    expect(await replay.claim('soon', inSeconds(60))).toBe(true);
  });

  test("revocations: a token until its expiry; a client's tokens issued up to its not-before", async () => {
    const { revocations } = await instance();
    const now = Date.now();
    const issuedAt = Math.floor(now / 1000);
    await revocations.revoke({ kind: 'token', jti: 'j1', expiresAt: now + 60_000 });
    await revocations.revoke({
      kind: 'client',
      clientId: 'c1',
      notBefore: now,
      expiresAt: now + 60_000,
    });
    await revocations.revoke({ kind: 'token', jti: 'gone', expiresAt: now - 1 });
    expect(revocations.isRevoked({ jti: 'j1', clientId: 'x', issuedAt })).toBe(true);
    expect(revocations.isRevoked({ jti: 'j2', clientId: 'x', issuedAt })).toBe(false);
    expect(revocations.isRevoked({ jti: 'j3', clientId: 'c1', issuedAt })).toBe(true);
    expect(revocations.isRevoked({ jti: 'j4', clientId: 'c1', issuedAt: issuedAt + 1 })).toBe(
      false,
    );
    expect(revocations.isRevoked({ jti: 'gone', clientId: 'x', issuedAt })).toBe(false);
  });

  test('change feed: every subscriber hears each change, its own publisher included, until it stops', async () => {
    const { feed } = await instance();
    await settle(feed);
    const heard: OAuth2Change[] = [];
    const stop = feed.subscribe((change) => {
      if (change.type !== 'resync') heard.push(change);
    });
    await feed.publish({ type: 'client', clientId: 'c1' });
    await feed.publish({ type: 'keys' });
    await eventually(async () => expect(heard).toHaveLength(2), 1000);
    expect(heard).toEqual([{ type: 'client', clientId: 'c1' }, { type: 'keys' }]);
    stop();
    await feed.publish({ type: 'keys' });
    await sleep(50);
    expect(heard).toHaveLength(2);
  });
});

/** A Redis feed hears nothing before its subscription is in place: wait until it hears itself. */
async function settle(feed: OAuth2ChangeFeed): Promise<void> {
  let heard = false;
  const stop = feed.subscribe((change) => (heard ||= change.type === 'keys'));
  await eventually(async () => {
    if (!heard) await feed.publish({ type: 'keys' });
    expect(heard).toBe(true);
  }, 2000);
  stop();
}

(testRedisUrl ? describe : describe.skip)('two instances on one Redis', () => {
  test('share throttle counts, claims and revocations (the other copy within 1 s)', async () => {
    const prefix = uniqueRedisPrefix();
    const a = await onRedis(prefix);
    const b = await onRedis(prefix);
    await settle(b.feed);
    await a.throttle.increment('k', 60_000);
    expect((await b.throttle.increment('k', 60_000)).count).toBe(2);
    expect(await a.replay.claim('jti', inSeconds(60))).toBe(true);
    expect(await b.replay.claim('jti', inSeconds(60))).toBe(false);

    const issuedAt = Math.floor(Date.now() / 1000);
    await a.revocations.revoke({ kind: 'token', jti: 'j1', expiresAt: Date.now() + 60_000 });
    await eventually(
      async () =>
        expect(b.revocations.isRevoked({ jti: 'j1', clientId: 'c', issuedAt })).toBe(true),
      1000,
    );
  });

  test("a client's not-before only moves forward, and a reload reads what no message announced", async () => {
    const prefix = uniqueRedisPrefix();
    const a = await onRedis(prefix);
    const now = Date.now();
    const late = {
      kind: 'client' as const,
      clientId: 'c',
      notBefore: now,
      expiresAt: now + 60_000,
    };
    await a.revocations.revoke(late);
    await a.revocations.revoke({ ...late, notBefore: now - 10_000 });
    const raw = new Redis(testRedisUrl!);
    try {
      expect(await raw.zscore(`${prefix}revoked:clients:not-before`, 'c')).toBe(String(now));
      // Written behind the feed's back (a lost message): a new instance's load, and a reload, read it.
      await raw.zadd(`${prefix}revoked:tokens`, now + 60_000, 'silent');
    } finally {
      raw.disconnect();
    }
    const subject = { jti: 'silent', clientId: 'x', issuedAt: Math.floor(now / 1000) };
    expect(a.revocations.isRevoked(subject)).toBe(false);
    await (a.revocations as RedisOAuth2RevocationStore).reload();
    expect(a.revocations.isRevoked(subject)).toBe(true);
    const b = await onRedis(prefix);
    expect(b.revocations.isRevoked(subject)).toBe(true);
    expect(
      b.revocations.isRevoked({ jti: 'j', clientId: 'c', issuedAt: Math.floor(now / 1000) }),
    ).toBe(true);
  });

  test('Redis losing the revocations (FLUSH, restart without persistence): the copy keeps them and writes them back', async () => {
    const prefix = uniqueRedisPrefix();
    const logger = new CapturingLogger();
    const a = await onRedis(prefix, { logger });
    const now = Date.now();
    const issuedAt = Math.floor(now / 1000);
    await a.revocations.revoke({ kind: 'token', jti: 'kept', expiresAt: now + 60_000 });
    await a.revocations.revoke({
      kind: 'client',
      clientId: 'c',
      notBefore: now,
      expiresAt: now + 60_000,
    });
    const raw = new Redis(testRedisUrl!);
    try {
      const keys = await raw.keys(`${prefix}revoked:*`);
      expect(keys.length).toBeGreaterThanOrEqual(3);
      await raw.del(...keys);
      expect(await (a.revocations as RedisOAuth2RevocationStore).reload()).toBe(true);
      expect(a.revocations.isRevoked({ jti: 'kept', clientId: 'x', issuedAt })).toBe(true);
      expect(a.revocations.isRevoked({ jti: 'j', clientId: 'c', issuedAt })).toBe(true);
      // Written back, so an instance started after the loss knows them too.
      expect(Number(await raw.zscore(`${prefix}revoked:tokens`, 'kept'))).toBe(now + 60_000);
      expect(Number(await raw.zscore(`${prefix}revoked:clients:not-before`, 'c'))).toBe(now);
    } finally {
      raw.disconnect();
    }
    const b = await onRedis(prefix);
    expect(b.revocations.isRevoked({ jti: 'kept', clientId: 'x', issuedAt })).toBe(true);
    expect(b.revocations.isRevoked({ jti: 'j', clientId: 'c', issuedAt })).toBe(true);
    expect(logger.lines.filter((line) => line.message.includes('written back'))).toHaveLength(1);
  });

  test('the timer reloads only when the generation moved, into the same copy (no sweep on the request path)', async () => {
    const prefix = uniqueRedisPrefix();
    const raw = new Redis(testRedisUrl!);
    let sweeps: number;
    let sweepsAfter: number;
    const sweep = jest.spyOn(
      InMemoryOAuth2RevocationStore.prototype as unknown as { sweep(now: number): void },
      'sweep',
    );
    try {
      await raw.set(`${prefix}revoked:generation`, '7');
      const a = await onRedis(prefix, { reloadIntervalMs: 50 });
      const store = a.revocations as RedisOAuth2RevocationStore;
      // The resync of the feed's first subscription reloads once: let it, and any reload it queued, finish.
      await settle(a.feed);
      for (
        let running;
        (running = (store as unknown as { reloading?: Promise<boolean> }).reloading);
      )
        await running;
      const subject = { jti: 'silent', clientId: 'x', issuedAt: 0 };
      store.isRevoked(subject);
      sweeps = sweep.mock.calls.length;
      await raw.zadd(`${prefix}revoked:tokens`, Date.now() + 60_000, 'silent');
      // The set is not read again while the generation stays: several ticks go by.
      await sleep(300);
      expect(store.isRevoked(subject)).toBe(false);
      await raw.incr(`${prefix}revoked:generation`);
      await eventually(async () => expect(store.isRevoked(subject)).toBe(true), 1000);
      sweepsAfter = sweep.mock.calls.length;
    } finally {
      raw.disconnect();
      sweep.mockRestore();
    }
    expect(sweeps).toBeGreaterThan(0);
    expect(sweepsAfter).toBe(sweeps);
  });

  test('resync comes once the subscription is in place: a change published on resync is heard', async () => {
    const raw = new Redis(testRedisUrl!);
    try {
      for (let i = 0; i < 2; i++) {
        const prefix = uniqueRedisPrefix();
        const connection = await RedisConnection.open(
          { url: testRedisUrl!, keyPrefix: prefix, commandTimeoutMs: 300 },
          { waitMs: 2000, logger: new CapturingLogger() },
        );
        open.push({ ...inMemory(), connection, close: () => connection.close() });
        // A slow network: the SUBSCRIBE reaches Redis 200 ms late.
        const subscriber = connection.subscriber;
        const subscribe = subscriber.subscribe.bind(subscriber) as (
          channel: string,
        ) => Promise<unknown>;
        (subscriber as unknown as { subscribe: typeof subscribe }).subscribe = (channel) =>
          sleep(200).then(() => subscribe(channel));
        const feed = new RedisOAuth2ChangeFeed(connection);
        const heard: OAuth2Change[] = [];
        feed.subscribe((change) => {
          heard.push(change);
          if (change.type === 'resync') void raw.publish(changeChannel(prefix), '{"type":"keys"}');
        });
        await eventually(async () => expect(heard).toContainEqual({ type: 'keys' }), 1000);
      }
    } finally {
      raw.disconnect();
    }
  });

  test('a message that is not a change is ignored and logged once; the feed goes on', async () => {
    const prefix = uniqueRedisPrefix();
    const logger = new CapturingLogger();
    const a = await onRedis(prefix, { logger });
    await settle(a.feed);
    const heard: OAuth2Change[] = [];
    a.feed.subscribe((change) => heard.push(change));
    const raw = new Redis(testRedisUrl!);
    try {
      for (const junk of ['not json', '{"type":"client"}', '{"type":"resync"}', '[1]', 'null']) {
        await raw.publish(changeChannel(prefix), junk);
      }
      await raw.publish(
        changeChannel(prefix),
        JSON.stringify({ type: 'client', clientId: 'c9', extra: 'dropped' }),
      );
    } finally {
      raw.disconnect();
    }
    await eventually(
      async () => expect(heard.filter((change) => change.type === 'client')).toHaveLength(1),
      1000,
    );
    expect(heard.filter((change) => change.type === 'client')).toEqual([
      { type: 'client', clientId: 'c9' },
    ]);
    expect(logger.lines.filter((line) => line.message.includes('not a change'))).toHaveLength(1);
  });
});

describe('RedisConnection logs', () => {
  test('one line when Redis cannot be reached at start, naming the host and never the password', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 9 });
    await proxy.cut();
    const logger = new CapturingLogger();
    const connection = await RedisConnection.open(
      {
        url: `redis://user:pw-never-logged@127.0.0.1:${proxy.port}/2`,
        keyPrefix: 'p:',
        commandTimeoutMs: 100,
      },
      { waitMs: 300, logger },
    );
    // Each command fails at once, and logs nothing more.
    for (let i = 0; i < 5; i++) {
      await expect(connection.run((redis) => redis.ping())).rejects.toBeInstanceOf(
        RedisUnavailableError,
      );
    }
    await connection.close();
    await proxy.close();
    expect(logger.lines.map((line) => line.message)).toEqual([
      expect.stringMatching(
        new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${proxy.port}/2 cannot be reached \\(`),
      ),
    ]);
    expect(logger.everything().join('\n')).not.toContain('pw-never-logged');
  });
});

describe('RedisOAuth2ReplayStore while Redis is away', () => {
  test('expired local claims are dropped, the unwritten ones too', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 9 });
    await proxy.cut();
    const connection = await RedisConnection.open(
      { url: `redis://127.0.0.1:${proxy.port}`, keyPrefix: 'p:', commandTimeoutMs: 100 },
      { waitMs: 100, logger: new CapturingLogger() },
    );
    try {
      const replay = new RedisOAuth2ReplayStore(connection);
      expect(await replay.claim('short', new Date(Date.now() + 100))).toBe(true);
      expect(await replay.claim('long', inSeconds(60))).toBe(true);
      expect(replay.pending).toBe(2);
      await sleep(1100);
      expect(await replay.claim('other', inSeconds(60))).toBe(true);
      expect(replay.pending).toBe(2);
      expect(await replay.claim('long', inSeconds(60))).toBe(false);
    } finally {
      await connection.close();
      await proxy.close();
    }
  });
});

(testRedisUrl ? describe : describe.skip)('Redis going away and coming back', () => {
  let proxy: TcpProxy;
  afterEach(async () => {
    await proxy.close();
  });

  async function throughProxy(prefix: string, logger: CapturingLogger): Promise<Instance> {
    const target = new URL(testRedisUrl!);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
    const url = new URL(testRedisUrl!);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    return onRedis(prefix, { url: url.href, logger });
  }

  test('cut: throttling falls back per instance, claims stay local and reach Redis on return, revoke rejects, the feed resyncs', async () => {
    const prefix = uniqueRedisPrefix();
    const logger = new CapturingLogger();
    const a = await throughProxy(prefix, logger);
    const b = await onRedis(prefix);
    const resyncs: number[] = [];
    a.feed.subscribe((change) => change.type === 'resync' && resyncs.push(Date.now()));
    await settle(a.feed);
    const resyncsBefore = resyncs.length;
    await b.throttle.increment('k', 60_000);

    await proxy.cut();
    // Throttling goes on, counting here only.
    expect((await a.throttle.increment('k', 60_000)).count).toBe(1);
    expect((await a.throttle.increment('k', 60_000)).count).toBe(2);
    // Issuance goes on: a claim is granted once, here.
    expect(await a.replay.claim('during', inSeconds(60))).toBe(true);
    expect(await a.replay.claim('during', inSeconds(60))).toBe(false);
    // A revocation cannot be made durable: refused (the endpoint answers 503), nothing half-done.
    await expect(
      a.revocations.revoke({ kind: 'token', jti: 'x', expiresAt: Date.now() + 60_000 }),
    ).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(a.feed.publish({ type: 'keys' })).rejects.toBeInstanceOf(RedisUnavailableError);
    // Revoked elsewhere meanwhile: this instance learns it on return.
    await b.revocations.revoke({ kind: 'token', jti: 'meanwhile', expiresAt: Date.now() + 60_000 });

    proxy.restore();
    await eventually(async () => expect(a.connection!.isUp).toBe(true), 5000);
    await eventually(
      async () => await expect(b.replay.claim('during', inSeconds(60))).resolves.toBe(false),
      2000,
    );
    // B can see the claim before A has read Redis's reply to its write-back: the count drops on the reply.
    await eventually(
      async () => expect((a.replay as RedisOAuth2ReplayStore).pending).toBe(0),
      2000,
    );
    // Counting is shared again, from Redis's count.
    expect((await a.throttle.increment('k', 60_000)).count).toBe(2);
    await eventually(async () => expect(resyncs.length).toBeGreaterThan(resyncsBefore), 5000);
    await eventually(
      async () =>
        expect(a.revocations.isRevoked({ jti: 'meanwhile', clientId: 'c', issuedAt: 0 })).toBe(
          true,
        ),
      2000,
    );

    const warnings = logger.lines
      .filter((line) => line.level === 'warn')
      .map((line) => line.message);
    expect(warnings.filter((line) => /^Redis at .* is unavailable/.test(line))).toHaveLength(1);
    expect(warnings.filter((line) => line.includes('Failed-authentication counts'))).toHaveLength(
      1,
    );
    expect(warnings.filter((line) => line.includes('Client assertions'))).toHaveLength(1);
    expect(logger.lines.filter((line) => line.message.includes('is back after'))).toHaveLength(1);
  });

  test('blackhole: each store falls back within the command timeout, and recovers', async () => {
    const prefix = uniqueRedisPrefix();
    const a = await throughProxy(prefix, new CapturingLogger());
    await a.throttle.increment('k', 60_000);
    proxy.blackhole();
    expect((await a.throttle.increment('k', 60_000)).count).toBe(1);
    expect(await a.replay.claim('held', inSeconds(60))).toBe(true);
    await expect(
      a.revocations.revoke({ kind: 'token', jti: 'x', expiresAt: Date.now() + 60_000 }),
    ).rejects.toBeInstanceOf(RedisUnavailableError);
    proxy.restore();
    await eventually(
      async () => expect((await a.throttle.increment('k', 60_000)).count).toBeGreaterThan(1),
      5000,
    );
    expect(await a.replay.claim('held', inSeconds(60))).toBe(false);
  });
});
