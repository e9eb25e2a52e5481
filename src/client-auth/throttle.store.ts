import { LRUCache } from 'lru-cache';

/** Failures counted under one key in its current window. */
export interface OAuth2ThrottleCount {
  /** Failures since the window began. */
  count: number;
  /** When the window ends (ms since the epoch): the count starts again from 0 then. */
  resetAt: number;
}

/**
 * Where failed client authentications are counted, and the DI token to replace it: in memory by default (one
 * instance); a shared store makes every instance count together. Each key's window starts at its first
 * failure and lasts `windowMs`.
 */
export abstract class OAuth2ThrottleStore {
  /** Counts one failure under `key` and returns the window's count. */
  abstract increment(key: string, windowMs: number): Promise<OAuth2ThrottleCount>;

  /** The window's count under `key`; undefined when none or the window ended. */
  abstract get(key: string): Promise<OAuth2ThrottleCount | undefined>;

  /** Forgets `key` (its client authenticated from there). */
  abstract reset(key: string): Promise<void>;
}

/**
 * The default store: this process's memory, bounded (the least recently counted keys go first, so a flood of
 * made-up ids cannot grow it without bound; an evicted key starts again at 0).
 */
export class InMemoryOAuth2ThrottleStore extends OAuth2ThrottleStore {
  private readonly counts: LRUCache<string, OAuth2ThrottleCount>;

  constructor({ max = 100_000 }: { max?: number } = {}) {
    super();
    this.counts = new LRUCache({ max });
  }

  async increment(key: string, windowMs: number): Promise<OAuth2ThrottleCount> {
    const now = Date.now();
    const current = this.current(key, now);
    const next = current
      ? { count: current.count + 1, resetAt: current.resetAt }
      : { count: 1, resetAt: now + windowMs };
    this.counts.set(key, next, { ttl: next.resetAt - now });
    return { ...next };
  }

  async get(key: string): Promise<OAuth2ThrottleCount | undefined> {
    const current = this.current(key, Date.now());
    return current && { ...current };
  }

  async reset(key: string): Promise<void> {
    this.counts.delete(key);
  }

  private current(key: string, now: number): OAuth2ThrottleCount | undefined {
    const entry = this.counts.get(key);
    return entry && entry.resetAt > now ? entry : undefined;
  }
}
