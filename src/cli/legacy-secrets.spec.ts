import { describe, expect, test } from '@jest/globals';
import { availableParallelism } from 'node:os';
import { ClientSecretHasher, InMemoryOAuthClientRepository, OAuthClient } from '../index.js';
import { repositoryClientTable, type ClientTable } from './client-table.js';
import { hashConcurrency, hashLegacySecrets } from './legacy-secrets.js';

/** A hasher that counts the hashes running at once, and can be made to fail for one secret. */
class CountingHasher extends ClientSecretHasher {
  running = 0;
  mostAtOnce = 0;
  failOn?: string;
  readonly options: unknown[] = [];

  override async hash(secret: string, options?: { legacyImport?: boolean }): Promise<string> {
    this.options.push(options);
    this.running++;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
    try {
      if (secret === this.failOn) throw new Error('the disk is full');
      // A real hash, of the cheap kind: the loop only needs a hash format it recognises.
      await new Promise((resolve) => setImmediate(resolve));
      return this.digestGenerated(secret);
    } finally {
      this.running--;
    }
  }
}

const ids = (count: number) =>
  Array.from({ length: count }, (_, i) => `c${String(i).padStart(3, '0')}`);

function setup(count: number, extra: OAuthClient[] = []) {
  const hasher = new CountingHasher();
  const repository = new InMemoryOAuthClientRepository([
    ...ids(count).map((clientId) =>
      OAuthClient.create({ clientId, clientSecret: `s-${clientId}` }),
    ),
    ...extra,
  ]);
  const table = repositoryClientTable(repository, hasher);
  const pages: Array<[string | undefined, number]> = [];
  const paged: ClientTable = {
    ...table,
    page: (after, limit) => {
      pages.push([after, limit]);
      return table.page(after, limit);
    },
  };
  return { hasher, repository, table: paged, pages };
}

describe('hashLegacySecrets', () => {
  test('walks the table in pages of batchSize by id, at most `concurrency` hashes at once', async () => {
    const { hasher, repository, table, pages } = setup(25, [
      OAuthClient.create({ clientId: 'public', clientSecret: null }),
      OAuthClient.create({ clientId: 'b-foreign', clientSecret: '$argon2id$v=19$m=65536$x$y' }),
    ]);
    const result = await hashLegacySecrets(table, repository, hasher, {
      concurrency: 3,
      batchSize: 10,
    });
    expect(result).toEqual({ hashed: 25, skipped: 0, notOurs: 1, interrupted: false });
    expect(hasher.mostAtOnce).toBe(3);
    // Legacy secrets predate minSecretLength.
    expect(hasher.options).toEqual(Array(25).fill({ legacyImport: true }));
    expect(pages).toEqual([
      [undefined, 10],
      ['c008', 10],
      ['c018', 10],
    ]);
    for (const clientId of ids(25)) {
      const stored = (await repository.findById(clientId))!.clientSecret!;
      await expect(hasher.verify(`s-${clientId}`, stored)).resolves.toBe(true);
    }
    expect((await repository.findById('b-foreign'))!.clientSecret).toBe(
      '$argon2id$v=19$m=65536$x$y',
    );
  });

  test('once aborted, the batch in progress is finished and no other begins', async () => {
    const { hasher, repository, table, pages } = setup(30);
    const stop = new AbortController();
    const updates: string[] = [];
    const progress = {
      update: (done: number) => {
        updates.push(`${done}`);
        if (done === 1) stop.abort();
      },
      finish: () => updates.push('finish'),
    };
    const result = await hashLegacySecrets(table, repository, hasher, {
      concurrency: 2,
      batchSize: 8,
      signal: stop.signal,
      progress,
    });
    expect(result).toEqual({ hashed: 8, skipped: 0, notOurs: 0, interrupted: true });
    expect(pages).toHaveLength(1);
    expect(updates).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', 'finish']);
    const stored = await repository.list();
    expect(stored.filter((c) => hasher.isHash(c.clientSecret!))).toHaveLength(8);

    // Run again: the rest, and nothing twice.
    const rest = await hashLegacySecrets(table, repository, hasher, { concurrency: 2 });
    expect(rest).toEqual({ hashed: 22, skipped: 0, notOurs: 0, interrupted: false });
  });

  test('a failed write stops the pass once the hashes in flight settle; the progress line is cleared', async () => {
    const { hasher, repository, table } = setup(12);
    hasher.failOn = 's-c003';
    let finished = false;
    await expect(
      hashLegacySecrets(table, repository, hasher, {
        concurrency: 2,
        batchSize: 6,
        progress: { update() {}, finish: () => (finished = true) },
      }),
    ).rejects.toThrow('the disk is full');
    expect(finished).toBe(true);
    expect(hasher.running).toBe(0);
    // Nothing after the failed batch was touched.
    const after = await repository.list();
    expect(after.slice(6).every((c) => c.clientSecret === `s-${c.clientId}`)).toBe(true);
  });
});

describe('hashConcurrency', () => {
  test.each([
    [{ UV_THREADPOOL_SIZE: '1' }, 1],
    [{ UV_THREADPOOL_SIZE: '1024' }, availableParallelism()],
    [{}, Math.min(4, availableParallelism())],
    // libuv reads an empty or unreadable value as one thread.
    [{ UV_THREADPOOL_SIZE: '' }, 1],
    [{ UV_THREADPOOL_SIZE: 'x' }, 1],
  ])('%j: %i', (env, expected) => {
    expect(hashConcurrency(env)).toBe(expected);
  });
});
