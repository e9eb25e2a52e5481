// The external services some rows need: Redis (the shared store) and PostgreSQL (the client database). A row
// whose service cannot be reached fails with a message saying where it looked and how to skip such rows on
// purpose (BENCH_REDIS_URL=off, BENCH_POSTGRES_URL=off); nothing is skipped silently.
import { URL } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';

/** The URL without its password, for messages. */
export function redact(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

async function withRedis(url, use) {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // ioredis rejects with "Connection is closed"; the cause (ECONNREFUSED, …) comes as an 'error' event.
  let cause;
  redis.on('error', (error) => (cause ??= error));
  try {
    await redis.connect();
    return await use(redis);
  } catch (error) {
    throw cause ?? error;
  } finally {
    redis.disconnect();
  }
}

/** Resolves when Redis answers PING; rejects with a message naming the URL and the way to skip. */
export async function checkRedis(url) {
  try {
    await withRedis(url, (redis) => redis.ping());
  } catch (error) {
    throw new Error(
      `Redis at ${redact(url)} unreachable (${error?.message ?? error}); start it, set BENCH_REDIS_URL, ` +
        'or BENCH_REDIS_URL=off to skip the Redis rows on purpose',
    );
  }
}

/** Deletes every key under `prefix`; returns how many. */
export async function deleteRedisKeys(url, prefix) {
  return withRedis(url, async (redis) => {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    return deleted;
  });
}

async function withPostgres(url, sql) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates `schema` (a fresh, empty one); rejects with a message naming the URL and the way to skip. */
export async function createSchema(url, schema) {
  try {
    await withPostgres(url, `DROP SCHEMA IF EXISTS "${schema}" CASCADE; CREATE SCHEMA "${schema}"`);
  } catch (error) {
    throw new Error(
      `PostgreSQL at ${redact(url)} unusable (${error?.message ?? error}); start it, set BENCH_POSTGRES_URL, ` +
        'or BENCH_POSTGRES_URL=off to skip the PostgreSQL rows on purpose',
    );
  }
}

export async function dropSchema(url, schema) {
  await withPostgres(url, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
