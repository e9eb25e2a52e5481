import { randomBytes } from 'node:crypto';

/**
 * The Redis the real-service suites use: OAUTH2_TEST_REDIS_URL, or undefined (those suites then do not run;
 * `npm test` without it stays on in-memory stores). A set variable whose server cannot be reached fails the
 * suite in `requireRedis()`: it never skips.
 */
export const testRedisUrl: string | undefined = process.env.OAUTH2_TEST_REDIS_URL || undefined;

/** A key prefix of one test's own, so runs and suites never see each other's keys. */
export function uniqueRedisPrefix(): string {
  return `oauth2_test_${randomBytes(6).toString('hex')}:`;
}

/** Fails (never skips) when OAUTH2_TEST_REDIS_URL is set but its server does not answer PING within 5 s. */
export async function requireRedis(url: string = testRedisUrl!): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    const pong = await redis.ping();
    if (pong !== 'PONG')
      throw new Error(`Redis at OAUTH2_TEST_REDIS_URL answered PING with ${pong}`);
  } catch (error) {
    throw new Error(
      `OAUTH2_TEST_REDIS_URL is set but Redis cannot be reached: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    redis.disconnect();
  }
}
