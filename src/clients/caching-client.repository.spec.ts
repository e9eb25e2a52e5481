import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { useFakeClock } from '../../test/support/fake-clock.js';
import { CachingOAuthClientRepository } from './caching-client.repository.js';
import { InMemoryOAuthClientRepository } from './in-memory-client.repository.js';
import { OAuthClient, PRIMARY_SECRET_ID, type OAuthClientSecret } from './oauth-client.entity.js';
import type { OAuthClientRepository } from './oauth-client.repository.js';
import { InMemoryOAuth2ChangeFeed, type OAuth2Change } from '../state/change-feed.js';

const setup = () => {
  const inner = new InMemoryOAuthClientRepository([
    OAuthClient.create({ clientId: 'svc', clientSecret: 'h1', scope: 'a' }),
  ]);
  const findById = jest.spyOn(inner, 'findById');
  return {
    inner,
    findById,
    cached: new CachingOAuthClientRepository(inner, { ttl: 60, max: 100, maxWaitMs: 50 }),
  };
};

describe('CachingOAuthClientRepository', () => {
  test('a hot client is read from storage once', async () => {
    const { cached, findById } = setup();
    expect((await cached.findById('svc'))?.scope).toBe('a');
    expect((await cached.findById('svc'))?.scope).toBe('a');
    expect(findById).toHaveBeenCalledTimes(1);
  });

  test('unknown ids are cached too', async () => {
    const { cached, findById } = setup();
    expect(await cached.findById('nobody')).toBeNull();
    expect(await cached.findById('nobody')).toBeNull();
    expect(findById).toHaveBeenCalledTimes(1);
  });

  test('its own writes evict at once', async () => {
    const { cached } = setup();
    await cached.findById('svc');
    expect(await cached.updateSecret('svc', 'h1', 'h2')).toBe(true);
    expect((await cached.findById('svc'))?.clientSecret).toBe('h2');
    await cached.save(OAuthClient.create({ clientId: 'svc', clientSecret: 'h3' }));
    expect((await cached.findById('svc'))?.clientSecret).toBe('h3');
    await cached.findById('new');
    await cached.save(OAuthClient.create({ clientId: 'new' }));
    expect(await cached.findById('new')).not.toBeNull();
    expect(await cached.delete('svc')).toBe(true);
    expect(await cached.findById('svc')).toBeNull();
  });

  test('callers get copies: changing one does not change the cache', async () => {
    const { cached } = setup();
    const client = await cached.findById('svc');
    client!.scope = 'changed';
    expect((await cached.findById('svc'))?.scope).toBe('a');
  });

  test('concurrent lookups share one storage read', async () => {
    const { cached, findById } = setup();
    await Promise.all(Array.from({ length: 5 }, () => cached.findById('svc')));
    expect(findById).toHaveBeenCalledTimes(1);
  });

  test('a lookup that overlaps a write is not cached', async () => {
    const { inner, cached, findById } = setup();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    findById.mockImplementationOnce(async () => {
      await gate;
      return OAuthClient.create({ clientId: 'svc', clientSecret: 'stale' });
    });
    const lookup = cached.findById('svc');
    await cached.updateSecret('svc', 'h1', 'fresh');
    release();
    expect((await lookup)?.clientSecret).toBe('stale');
    expect((await cached.findById('svc'))?.clientSecret).toBe('fresh');
    expect((await inner.findById('svc'))?.clientSecret).toBe('fresh');
  });

  test('a storage error is not cached', async () => {
    const { cached, findById } = setup();
    findById.mockRejectedValueOnce(new Error('down'));
    await expect(cached.findById('svc')).rejects.toThrow('down');
    expect((await cached.findById('svc'))?.scope).toBe('a');
  });

  test('a lookup that hangs is not joined past maxWaitMs: the client recovers once storage answers', async () => {
    useFakeClock();
    try {
      const { cached, findById } = setup();
      findById.mockImplementationOnce(() => new Promise(() => {}));
      const hung = cached.findById('svc');
      expect(findById).toHaveBeenCalledTimes(1);
      jest.advanceTimersByTime(50);
      const joined = cached.findById('svc');
      expect(findById).toHaveBeenCalledTimes(1);
      jest.advanceTimersByTime(1);
      expect((await cached.findById('svc'))?.scope).toBe('a');
      expect(findById).toHaveBeenCalledTimes(2);
      void hung;
      void joined;
    } finally {
      jest.useRealTimers();
      jest.restoreAllMocks();
    }
  });
});

describe('CachingOAuthClientRepository and writes', () => {
  test('a lookup issued after a delete does not join one begun before it', async () => {
    const { cached, findById } = setup();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    findById.mockImplementationOnce(async () => {
      await gate;
      return OAuthClient.create({ clientId: 'svc', clientSecret: 'h1' });
    });
    const early = cached.findById('svc');
    expect(await cached.delete('svc')).toBe(true);
    expect(await cached.findById('svc')).toBeNull();
    release();
    expect((await early)?.clientId).toBe('svc');
    expect(await cached.findById('svc')).toBeNull();
  });

  test('a lookup begun during a write, answered with the old row, is not cached past the write', async () => {
    const { inner, cached, findById } = setup();
    const update = inner.updateSecret.bind(inner);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    jest.spyOn(inner, 'updateSecret').mockImplementationOnce(async (...args) => {
      await gate;
      return update(...args);
    });
    const write = cached.updateSecret('svc', 'h1', 'h2');
    // Storage still holds the old row: the lookup reads it while the write is in flight.
    expect((await cached.findById('svc'))?.clientSecret).toBe('h1');
    expect(findById).toHaveBeenCalledTimes(1);
    release();
    expect(await write).toBe(true);
    expect((await cached.findById('svc'))?.clientSecret).toBe('h2');
    expect(findById).toHaveBeenCalledTimes(2);
  });
});

describe('CachingOAuthClientRepository ttl, in seconds', () => {
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  /** A cache of `ttl` seconds over a store that another writer (the CLI) then changes behind its back. */
  const changedBehindTheCache = async (ttl: number) => {
    useFakeClock();
    const { inner, findById } = setup();
    const cached = new CachingOAuthClientRepository(inner, { ttl, max: 100, maxWaitMs: 50 });
    expect((await cached.findById('svc'))?.clientSecret).toBe('h1');
    expect(await cached.findById('nobody')).toBeNull();
    await inner.save(OAuthClient.create({ clientId: 'svc', clientSecret: 'h2' }));
    await inner.save(OAuthClient.create({ clientId: 'nobody', clientSecret: 'h3' }));
    findById.mockClear();
    return { cached, findById };
  };

  test.each([1, 5])('ttl %i: served from the cache at ttl·1000 − 1 ms', async (ttl) => {
    const { cached, findById } = await changedBehindTheCache(ttl);
    jest.advanceTimersByTime(ttl * 1000 - 1);
    expect((await cached.findById('svc'))?.clientSecret).toBe('h1');
    expect(await cached.findById('nobody')).toBeNull();
    expect(findById).not.toHaveBeenCalled();
  });

  test.each([1, 5])('ttl %i: read from storage again at ttl·1000 + 1 ms', async (ttl) => {
    const { cached, findById } = await changedBehindTheCache(ttl);
    jest.advanceTimersByTime(ttl * 1000 - 1);
    await cached.findById('svc');
    jest.advanceTimersByTime(2);
    expect((await cached.findById('svc'))?.clientSecret).toBe('h2');
    expect((await cached.findById('nobody'))?.clientSecret).toBe('h3');
    expect(findById.mock.calls).toEqual([['svc'], ['nobody']]);
  });
});

const FIRST: OAuthClientSecret = {
  id: 's1',
  hash: 'hash-1',
  createdAt: new Date('2031-03-30T01:30:00.123Z'),
  expiresAt: null,
  lastUsedAt: null,
};

/** svc with one further secret, s1, and a cache in front whose findSecrets reads are counted. */
const setupWithSecret = async () => {
  const { inner, findById, cached } = setup();
  await inner.addSecret('svc', FIRST);
  return { inner, findById, cached, findSecrets: jest.spyOn(inner, 'findSecrets') };
};

describe('CachingOAuthClientRepository.findSecrets', () => {
  test("a hot client's secrets are read from storage once, and callers get copies", async () => {
    const { cached, findSecrets } = await setupWithSecret();
    const first = await cached.findSecrets('svc');
    expect(first).toEqual([FIRST]);
    first[0].hash = 'changed';
    first.push({ ...FIRST, id: 'forged' });
    expect(await cached.findSecrets('svc')).toEqual([FIRST]);
    expect(findSecrets).toHaveBeenCalledTimes(1);
    // A client without further secrets is cached too.
    expect(await cached.findSecrets('nobody')).toEqual([]);
    expect(await cached.findSecrets('nobody')).toEqual([]);
    expect(findSecrets).toHaveBeenCalledTimes(2);
  });

  test('concurrent lookups share one storage read', async () => {
    const { cached, findSecrets } = await setupWithSecret();
    const all = await Promise.all(Array.from({ length: 5 }, () => cached.findSecrets('svc')));
    expect(all).toEqual(Array(5).fill([FIRST]));
    expect(findSecrets).toHaveBeenCalledTimes(1);
  });

  test('a storage error is not cached', async () => {
    const { cached, findSecrets } = await setupWithSecret();
    findSecrets.mockRejectedValueOnce(new Error('down'));
    await expect(cached.findSecrets('svc')).rejects.toThrow('down');
    expect(await cached.findSecrets('svc')).toEqual([FIRST]);
  });
});

const AT = new Date('2032-01-01T00:00:00.000Z');
const WRITES: Array<[string, (repository: OAuthClientRepository) => Promise<unknown>]> = [
  ['save', (r) => r.save(OAuthClient.create({ clientId: 'svc', clientSecret: 'h2' }))],
  ['updateSecret', (r) => r.updateSecret('svc', 'h1', 'h2')],
  ['delete', (r) => r.delete('svc')],
  ['addSecret', (r) => r.addSecret('svc', { ...FIRST, id: 's2' })],
  ['removeSecret', (r) => r.removeSecret('svc', 's1')],
  ['expireSecrets', (r) => r.expireSecrets('svc', [PRIMARY_SECRET_ID, 's1'], AT)],
];

describe('CachingOAuthClientRepository: every write evicts the client and its secrets', () => {
  test.each(WRITES)(
    '%s: the next lookups read storage again and see the write',
    async (_, write) => {
      const { inner, cached, findById, findSecrets } = await setupWithSecret();
      await cached.findById('svc');
      await cached.findSecrets('svc');
      await write(cached);
      const client = await cached.findById('svc');
      const secrets = await cached.findSecrets('svc');
      // One read each before the write, one after.
      expect(findById).toHaveBeenCalledTimes(2);
      expect(findSecrets).toHaveBeenCalledTimes(2);
      expect(client).toEqual(await inner.findById('svc'));
      expect(secrets).toEqual(await inner.findSecrets('svc'));
    },
  );

  test.each(WRITES)('%s: another client stays cached', async (_, write) => {
    const { cached, findById, findSecrets } = await setupWithSecret();
    await cached.findById('nobody');
    await cached.findSecrets('nobody');
    await write(cached);
    findById.mockClear();
    findSecrets.mockClear();
    await cached.findById('nobody');
    await cached.findSecrets('nobody');
    expect(findById).not.toHaveBeenCalled();
    expect(findSecrets).not.toHaveBeenCalled();
  });

  test('touchSecret reaches storage and evicts nothing: a record of use changes nothing authentication reads', async () => {
    const { inner, cached, findById, findSecrets } = await setupWithSecret();
    await cached.findById('svc');
    await cached.findSecrets('svc');
    await cached.touchSecret('svc', 's1', AT);
    await cached.touchSecret('svc', PRIMARY_SECRET_ID, AT);
    await cached.findById('svc');
    await cached.findSecrets('svc');
    expect(findById).toHaveBeenCalledTimes(1);
    expect(findSecrets).toHaveBeenCalledTimes(1);
    expect((await inner.findSecrets('svc'))[0].lastUsedAt).toEqual(AT);
    expect((await inner.findById('svc'))?.clientSecretLastUsedAt).toEqual(AT);
  });
});

describe('CachingOAuthClientRepository: a lookup that never settles', () => {
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  test('is let go once it can no longer be joined, even if its id is never asked for again', async () => {
    useFakeClock();
    const inner = new InMemoryOAuthClientRepository();
    jest.spyOn(inner, 'findById').mockReturnValue(new Promise(() => {}));
    const cached = new CachingOAuthClientRepository(inner, { ttl: 60, max: 100, maxWaitMs: 50 });
    void cached.findById('hung');
    const pending = (cached as unknown as { clients: { pending: Map<string, unknown> } }).clients
      .pending;
    expect(pending.size).toBe(1);
    jest.advanceTimersByTime(51);
    expect(pending.size).toBe(0);
  });
});

describe('updateSecretHash (a rewrite under a new pepper)', () => {
  test('compare-and-set on one row; primary goes through updateSecret; the cache is evicted', async () => {
    const inner = new InMemoryOAuthClientRepository([
      OAuthClient.create({ clientId: 'svc', clientSecret: 'h1' }),
    ]);
    await inner.addSecret('svc', {
      id: 'row1',
      hash: 'r1',
      createdAt: new Date(),
      expiresAt: null,
      lastUsedAt: null,
    });
    const cached = new CachingOAuthClientRepository(inner, { ttl: 60, max: 100, maxWaitMs: 50 });
    expect((await cached.findSecrets('svc'))[0].hash).toBe('r1');
    expect(await cached.updateSecretHash('svc', 'row1', 'stale', 'r2')).toBe(false);
    expect(await cached.updateSecretHash('svc', 'row1', 'r1', 'r2')).toBe(true);
    expect((await cached.findSecrets('svc'))[0].hash).toBe('r2');
    expect(await cached.updateSecretHash('svc', 'primary', 'h1', 'h2')).toBe(true);
    expect((await cached.findById('svc'))?.clientSecret).toBe('h2');
    expect(await cached.updateSecretHash('svc', 'nope', 'x', 'y')).toBe(false);
  });
});

describe('CachingOAuthClientRepository and the change feed', () => {
  const withFeed = () => {
    const inner = new InMemoryOAuthClientRepository([
      OAuthClient.create({ clientId: 'svc', clientSecret: 'h1', scope: 'a' }),
    ]);
    const changes = new InMemoryOAuth2ChangeFeed();
    const heard: OAuth2Change[] = [];
    changes.subscribe((change) => heard.push(change));
    const cached = new CachingOAuthClientRepository(inner, {
      ttl: 60,
      max: 100,
      maxWaitMs: 50,
      changes,
    });
    return { inner, cached, heard, changes };
  };

  test('its writes are announced, once each; reads and records of use are not', async () => {
    const { cached, heard } = withFeed();
    await cached.findById('svc');
    await cached.touchSecret('svc', PRIMARY_SECRET_ID, new Date());
    await cached.updateSecret('svc', 'h1', 'h2');
    await cached.delete('svc');
    expect(heard).toEqual([
      { type: 'client', clientId: 'svc' },
      { type: 'client', clientId: 'svc' },
    ]);
  });

  test('a write stands when the announcement fails', async () => {
    const { cached, changes, inner } = withFeed();
    jest.spyOn(changes, 'publish').mockRejectedValue(new Error('Redis is away'));
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await cached.updateSecret('svc', 'h1', 'h2');
    expect((await inner.findById('svc'))?.clientSecret).toBe('h2');
    await new Promise((resolve) => setImmediate(resolve));
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('could not be announced'), {
      event: 'oauth2.clients.change_not_announced',
      clientId: 'svc',
      // The error's class (and code) only: a change feed of the host's own could put anything in a message.
      reason: 'Error',
    });
    expect(JSON.stringify(warn.mock.calls)).not.toContain('Redis is away');
    warn.mockRestore();
  });

  test('evict() drops one client, evictAll() every one: the next lookup reads storage', async () => {
    const { cached, inner } = withFeed();
    const findById = jest.spyOn(inner, 'findById');
    await cached.findById('svc');
    await cached.findById('other');
    cached.evict('svc');
    await cached.findById('svc');
    await cached.findById('other');
    expect(findById.mock.calls.map(([id]) => id)).toEqual(['svc', 'other', 'svc']);
    cached.evictAll();
    await cached.findById('svc');
    await cached.findById('other');
    expect(findById).toHaveBeenCalledTimes(5);
  });
});

describe('CachingOAuthClientRepository.findCached (no I/O)', () => {
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  test('answers only when the client and its secrets are both cached, with copies', async () => {
    const { cached } = await setupWithSecret();
    expect(cached.findCached('svc')).toBeUndefined();
    await cached.findById('svc');
    expect(cached.findCached('svc')).toBeUndefined();
    await cached.findSecrets('svc');
    const hit = cached.findCached('svc');
    expect(hit?.client?.clientSecret).toBe('h1');
    expect(hit?.secrets).toEqual([FIRST]);
    hit!.client!.clientSecret = 'changed';
    hit!.secrets[0].hash = 'changed';
    hit!.secrets.push({ ...FIRST, id: 'forged' });
    expect(cached.findCached('svc')).toEqual({ client: expect.any(OAuthClient), secrets: [FIRST] });
    expect(cached.findCached('svc')?.client?.clientSecret).toBe('h1');
  });

  test('an id known not to exist is answered as null', async () => {
    const { cached } = setup();
    await cached.findById('nobody');
    await cached.findSecrets('nobody');
    expect(cached.findCached('nobody')).toEqual({ client: null, secrets: [] });
  });

  test.each(WRITES)('%s evicts what it answers', async (_name, write) => {
    const { cached } = await setupWithSecret();
    await cached.findById('svc');
    await cached.findSecrets('svc');
    await write(cached);
    expect(cached.findCached('svc')).toBeUndefined();
  });

  test('an evicted or expired entry is not answered', async () => {
    useFakeClock();
    const { cached } = await setupWithSecret();
    await cached.findById('svc');
    await cached.findSecrets('svc');
    cached.evict('svc');
    expect(cached.findCached('svc')).toBeUndefined();
    await cached.findById('svc');
    await cached.findSecrets('svc');
    jest.advanceTimersByTime(60_001);
    expect(cached.findCached('svc')).toBeUndefined();
  });

  test('a repository without a cache answers nothing', async () => {
    const { inner } = setup();
    await inner.findById('svc');
    expect(inner.findCached('svc')).toBeUndefined();
  });
});
