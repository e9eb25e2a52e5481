import { OAuth2ReplayStore } from '../client-auth/replay-store.js';
import { RedisUnavailableError, type RedisConnection } from './redis-connection.js';

const SWEEP_INTERVAL_MS = 1000;

/**
 * Accepted client assertions in Redis (`SET key 1 PXAT exp NX`), so an assertion accepted by one instance is
 * refused by every other (RFC 7523 §3 item 7). While Redis is away, issuance goes on: claims are made in this
 * instance's memory, so an assertion is still accepted at most once per instance (with N instances, a replay
 * can succeed at most N - 1 times, and only until the assertion's `exp`, at most `maxAssertionLifetime`).
 * Claims made locally stay refused here, and are written to Redis as soon as it answers again, so nothing
 * accepted during the outage is forgotten.
 */
export class RedisOAuth2ReplayStore extends OAuth2ReplayStore {
  /** Claims made while Redis was away: key → expiry (ms). */
  private readonly local = new Map<string, number>();
  /** Those of them not yet written to Redis. */
  private readonly unwritten = new Map<string, number>();
  private flushing = false;
  private nextSweepAt = 0;

  constructor(private readonly connection: RedisConnection) {
    super();
    connection.onUp(() => void this.flush());
  }

  async claim(key: string, expiresAt: Date): Promise<boolean> {
    const now = Date.now();
    const until = expiresAt.getTime();
    if (until <= now) return false;
    this.sweep(now);
    if ((this.local.get(key) ?? 0) > now) return false;
    try {
      const set = await this.connection.run((redis) =>
        redis.set(this.key(key), '1', 'PXAT', until, 'NX'),
      );
      if (this.unwritten.size > 0) void this.flush();
      return set === 'OK';
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      this.connection.degraded(
        'replay',
        'Client assertions are checked against this instance only until Redis is back ' +
          '(written to Redis then)',
      );
      this.local.set(key, until);
      this.unwritten.set(key, until);
      return true;
    }
  }

  /** Claims made locally and not yet in Redis. */
  get pending(): number {
    return this.unwritten.size;
  }

  /** Writes the claims made during an outage to Redis; those still unwritten wait for the next chance. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      const now = Date.now();
      for (const [key, until] of [...this.unwritten]) {
        if (until > now) {
          await this.connection.run((redis) => redis.set(this.key(key), '1', 'PXAT', until, 'NX'));
        }
        this.unwritten.delete(key);
      }
    } catch {
      // Redis went away again: the rest waits for it to come back.
    } finally {
      this.flushing = false;
    }
  }

  private key(key: string): string {
    return `${this.connection.keyPrefix}replay:${key}`;
  }

  /** Drops expired claims from both maps, at most once a second (a claim must not scan them all). */
  private sweep(now: number): void {
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + SWEEP_INTERVAL_MS;
    for (const map of [this.local, this.unwritten]) {
      for (const [key, until] of map) if (until <= now) map.delete(key);
    }
  }
}
