import type { Redis } from 'ioredis';
import {
  InMemoryOAuth2ThrottleStore,
  OAuth2ThrottleStore,
  type OAuth2ThrottleCount,
} from '../client-auth/throttle.store.js';
import { RedisUnavailableError, type RedisConnection } from './redis-connection.js';

/**
 * KEYS[1]: the counter; ARGV[1]: the window in ms. Counts one failure; the window starts at the first (the key
 * expires with it), as in memory. Returns the count and the ms left of the window.
 */
const INCREMENT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if count == 1 or left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
`;

/**
 * Failed-authentication counts in Redis, shared by every instance. While Redis is away each instance counts in
 * its own memory (a limit then holds per instance: N instances let N times the failures through) and warns
 * once; Redis is asked again a second after each failure and takes over as soon as it answers. Counts made
 * during the outage stay local and lapse with their windows.
 */
export class RedisOAuth2ThrottleStore extends OAuth2ThrottleStore {
  private readonly fallback = new InMemoryOAuth2ThrottleStore();

  constructor(private readonly connection: RedisConnection) {
    super();
  }

  increment(key: string, windowMs: number): Promise<OAuth2ThrottleCount> {
    return this.orLocally(
      async (redis) => {
        const [count, left] = (await redis.eval(INCREMENT_SCRIPT, 1, this.key(key), windowMs)) as [
          number,
          number,
        ];
        return { count, resetAt: Date.now() + left };
      },
      () => this.fallback.increment(key, windowMs),
    );
  }

  get(key: string): Promise<OAuth2ThrottleCount | undefined> {
    return this.orLocally(
      async (redis) => {
        const [count, left] = await Promise.all([
          redis.get(this.key(key)),
          redis.pttl(this.key(key)),
        ]);
        if (count === null || left <= 0) return undefined;
        return { count: Number(count), resetAt: Date.now() + left };
      },
      () => this.fallback.get(key),
    );
  }

  async reset(key: string): Promise<void> {
    await this.fallback.reset(key);
    await this.orLocally(
      (redis) => redis.del(this.key(key)),
      async () => undefined,
    );
  }

  private key(key: string): string {
    return `${this.connection.keyPrefix}throttle:${key}`;
  }

  private async orLocally<T>(
    remote: (redis: Redis) => Promise<T>,
    local: () => Promise<T>,
  ): Promise<T> {
    try {
      return await this.connection.run(remote);
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      this.connection.degraded(
        'throttle',
        'Failed-authentication counts are kept per instance until Redis is back',
      );
      return local();
    }
  }
}
