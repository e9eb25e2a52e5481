import { Logger, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';
import type { OAuth2LogFields } from '../observability/log-fields.js';
import { loggableUrl } from '../observability/startup-log.js';
import type { OAuth2RedisOptions } from '../oauth2-options.interface.js';

/** Redis could not be reached or did not answer within `commandTimeoutMs`: the caller's fallback applies. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/** After a failed command, Redis is not asked again for this long, so a hung Redis costs one timeout a second. */
const BREAKER_MS = 1000;
/** Reconnect attempts back off up to this delay, and go on for ever. */
const MAX_RECONNECT_DELAY_MS = 2000;

/** ioredis, an optional peer dependency: loaded only when `store.redis` is configured. */
async function loadIoRedis(): Promise<typeof Redis> {
  try {
    return (await import('ioredis')).Redis;
  } catch (error) {
    throw new Error(
      'OAuth2Module: `store.redis` needs the ioredis package, an optional peer dependency: npm install ioredis',
      { cause: error },
    );
  }
}

/**
 * QUIT lets Redis finish what was sent; a Redis that is away (or slow to answer) is simply let go. Resolves once
 * the socket has ended, or at once when there is none (between reconnect attempts), or after a second.
 */
function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === 'end') return Promise.resolve();
  return new Promise<void>((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      redis.disconnect();
      finish();
    }, 1000);
    redis.once('end', finish);
    if (redis.status === 'ready') {
      redis.quit().catch(() => redis.disconnect());
      return;
    }
    redis.disconnect();
    if (redis.status !== 'connect' && redis.status !== 'connecting') finish();
  });
}

/**
 * The module's connections to Redis: one for commands, made to fail fast when Redis is away (no offline queue,
 * `commandTimeoutMs` per command, a one-second breaker after a failure) so every caller falls back at once
 * instead of queueing requests, and a subscriber for pub/sub, opened on first use. Both reconnect for ever with
 * a bounded backoff. One log line when Redis goes away, one when it is back: never one per command, never the
 * URL's password.
 */
export class RedisConnection implements OnApplicationShutdown {
  private readonly logger: LoggerService;
  private readonly label: string;
  private readonly options: RedisOptions;
  private readonly upListeners = new Set<() => void>();
  /** The degradations already announced during this outage (one warning each). */
  private readonly announced = new Set<string>();
  private subscriberConnection: Redis | undefined;
  private up = false;
  private everUp = false;
  private downSince = Date.now();
  private breakerUntil = 0;
  private closed = false;

  /**
   * Loads ioredis and starts connecting; waits at most `waitMs` for the first connection, then returns
   * connected or not (it keeps trying: callers fall back meanwhile).
   */
  static async open(
    options: Required<OAuth2RedisOptions>,
    { waitMs = 0, logger }: { waitMs?: number; logger?: LoggerService } = {},
  ): Promise<RedisConnection> {
    const connection = new RedisConnection(await loadIoRedis(), options, logger);
    if (waitMs > 0) await connection.ready(waitMs).catch(() => undefined);
    return connection;
  }

  readonly client: Redis;

  private constructor(
    private readonly RedisClient: typeof Redis,
    private readonly redisOptions: Required<OAuth2RedisOptions>,
    logger: LoggerService | undefined,
  ) {
    this.logger = logger ?? new Logger('OAuth2Redis');
    // `redis://host:port/db`, without user or password: what log lines name.
    this.label = loggableUrl(redisOptions.url);
    this.options = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: redisOptions.commandTimeoutMs,
      connectTimeout: Math.max(redisOptions.commandTimeoutMs, 2000),
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), MAX_RECONNECT_DELAY_MS),
    };
    this.client = new RedisClient(redisOptions.url, this.options);
    this.client.on('ready', () => {
      // A new connection: whatever tripped the breaker was the old one's.
      this.breakerUntil = 0;
      this.markUp();
    });
    this.client.on('error', (error: Error) => this.markDown(error));
    this.client.on('close', () => this.markDown(new Error('connection closed')));
  }

  /** The key prefix of every key and channel. */
  get keyPrefix(): string {
    return this.redisOptions.keyPrefix;
  }

  /** Whether the last command or connection event found Redis answering. */
  get isUp(): boolean {
    return this.up;
  }

  /** The pub/sub connection (a second one: a subscribed connection runs no other command). */
  get subscriber(): Redis {
    if (!this.subscriberConnection) {
      // Its SUBSCRIBE waits for the connection (offline queue on, kept across failed attempts) and is renewed
      // on every reconnect.
      const subscriber = new this.RedisClient(this.redisOptions.url, {
        ...this.options,
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        commandTimeout: undefined,
      });
      // Errors are the command connection's to report; this one would only repeat them.
      subscriber.on('error', () => {});
      this.subscriberConnection = subscriber;
    }
    return this.subscriberConnection;
  }

  /**
   * Runs `command` on Redis; rejects with RedisUnavailableError at once when Redis is known to be away, or
   * when the command fails or times out.
   */
  async run<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    if (this.client.status !== 'ready' || Date.now() < this.breakerUntil) {
      throw new RedisUnavailableError(`Redis at ${this.label} is unavailable`);
    }
    try {
      const result = await command(this.client);
      this.markUp();
      return result;
    } catch (error) {
      this.breakerUntil = Date.now() + BREAKER_MS;
      this.markDown(error as Error);
      throw new RedisUnavailableError(
        `Redis at ${this.label} failed: ${this.describe(error as Error)}`,
        { cause: error },
      );
    }
  }

  /** Calls `listener` each time Redis answers again after an outage; the returned function stops that. */
  onUp(listener: () => void): () => void {
    this.upListeners.add(listener);
    return () => this.upListeners.delete(listener);
  }

  /** Logs `message` once per outage under `what` (a store's fallback): event `oauth2.redis.degraded`. */
  degraded(what: string, message: string): void {
    if (this.announced.has(what)) return;
    this.announced.add(what);
    this.logger.warn(message, this.fields('oauth2.redis.degraded', { fallback: what }));
  }

  /** Resolves once connected, or rejects after `waitMs` with the reason (no password). */
  async ready(waitMs: number): Promise<void> {
    if (this.client.status === 'ready') return;
    let lastError: Error | undefined;
    const onError = (error: Error) => (lastError = error);
    this.client.on('error', onError);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.client.off('ready', onReady);
          const reason = lastError ? ` (${this.describe(lastError)})` : '';
          reject(
            new Error(`Redis at ${this.label} cannot be reached within ${waitMs} ms${reason}`),
          );
        }, waitMs);
        const onReady = () => {
          clearTimeout(timer);
          resolve();
        };
        this.client.once('ready', onReady);
      });
    } finally {
      this.client.off('error', onError);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.upListeners.clear();
    const connections = [this.client, this.subscriberConnection].filter((redis) => !!redis);
    // Resolves once each socket has ended, so nothing of ours is left open after shutdown.
    await Promise.all(connections.map(closeConnection));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private markUp(): void {
    if (this.up || this.closed) return;
    this.up = true;
    this.announced.clear();
    if (this.everUp) {
      const seconds = Math.round((Date.now() - this.downSince) / 1000);
      this.logger.log(
        `Redis at ${this.label} is back after ${seconds} s; shared state resumes`,
        this.fields('oauth2.redis.reconnected', { downSeconds: seconds }),
      );
    } else {
      this.everUp = true;
      this.logger.log(`Connected to Redis at ${this.label}`, this.fields('oauth2.redis.connected'));
    }
    for (const listener of [...this.upListeners]) listener();
  }

  private markDown(error: Error): void {
    if (this.closed) return;
    const wasUp = this.up;
    const first = !this.everUp && !this.announced.has('connection');
    this.up = false;
    if (wasUp) {
      this.downSince = Date.now();
      this.logger.warn(
        `Redis at ${this.label} is unavailable (${this.describe(error)}); each store runs on its ` +
          'documented fallback until it is back',
        this.fields('oauth2.redis.unavailable', { reason: this.describe(error) }),
      );
    } else if (first) {
      this.announced.add('connection');
      this.logger.warn(
        `Redis at ${this.label} cannot be reached (${this.describe(error)}); starting degraded, ` +
          'each store runs on its documented fallback until it is back',
        this.fields('oauth2.redis.unreachable', { reason: this.describe(error) }),
      );
    }
  }

  /** A log line's fields: the event, and which Redis (host and key prefix, never the password). */
  private fields(event: string, more: Omit<OAuth2LogFields, 'event'> = {}): OAuth2LogFields {
    return { event, redis: this.label, keyPrefix: this.redisOptions.keyPrefix, ...more };
  }

  /** An error's code or message, with the URL's password taken out should a driver ever quote it. */
  private describe(error: Error): string {
    const text = (error as NodeJS.ErrnoException).code ?? error.message;
    const password = new URL(this.redisOptions.url).password;
    return password ? text.split(password).join('***') : text;
  }
}
