import { checkStore } from '../oauth2-config.js';
import type { OAuth2RedisOptions } from '../oauth2-options.interface.js';
import type { OAuth2ChangeFeed } from '../state/change-feed.js';
import type { OAuth2RevocationStore } from '../state/revocation-store.js';
import { RedisOAuth2ChangeFeed } from './redis-change-feed.js';
import { RedisConnection } from './redis-connection.js';
import { RedisOAuth2RevocationStore } from './redis-revocation.store.js';

/** How long a short-lived process waits for Redis before giving up. */
const CONNECT_WAIT_MS = 5000;

/** The shared state as a short-lived process (the CLI) uses it: it publishes and revokes, then closes. */
export interface RedisState {
  /** `publish()` reaches every instance; rejects when Redis is away. */
  feed: OAuth2ChangeFeed;
  /**
   * `revoke()` writes to Redis and publishes; rejects when Redis is away. `isRevoked()` knows only what this
   * process revoked (nothing is loaded).
   */
  revocations: OAuth2RevocationStore;
  /** Quits the connection. */
  close(): Promise<void>;
}

/**
 * Connects to Redis for a short-lived process. Rejects with a clear message (never the URL's password) when
 * the options are invalid, ioredis is not installed, or Redis cannot be reached within 5 s.
 */
export async function connectRedisState(options: OAuth2RedisOptions): Promise<RedisState> {
  const redis = checkStore({ redis: options })!.redis as Required<OAuth2RedisOptions>;
  // Its own connection lines would only repeat what the caller reports.
  const quiet = { log() {}, warn() {}, error() {} };
  const connection = await RedisConnection.open(redis, { logger: quiet });
  try {
    await connection.ready(CONNECT_WAIT_MS);
  } catch (error) {
    await connection.close();
    throw error;
  }
  const feed = new RedisOAuth2ChangeFeed(connection, { logger: quiet });
  return {
    feed,
    revocations: new RedisOAuth2RevocationStore(connection, feed),
    close: () => connection.close(),
  };
}
