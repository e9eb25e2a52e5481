import { OAuth2ReplayStore } from './replay-store.js';

const SWEEP_INTERVAL_MS = 60_000;

/**
 * The default replay store: a map in this process's memory, swept of expired claims once a minute. Only
 * assertions whose signature and claims verified are recorded, each until its `exp` (at most
 * `maxAssertionLifetime` ahead), so its size is bounded by the accepted rate times that lifetime. It does not
 * reach other instances: behind a load balancer, give every instance one shared store.
 */
export class InMemoryOAuth2ReplayStore extends OAuth2ReplayStore {
  private readonly claims = new Map<string, number>();
  private nextSweepAt = 0;

  async claim(key: string, expiresAt: Date): Promise<boolean> {
    const now = Date.now();
    if (now >= this.nextSweepAt) this.sweep(now);
    const until = this.claims.get(key);
    // Already claimed and still held, or asked to hold a claim that has lapsed: never accepted.
    if ((until !== undefined && until > now) || expiresAt.getTime() <= now) return false;
    this.claims.set(key, expiresAt.getTime());
    return true;
  }

  /** The claims held, expired ones not yet swept included. */
  get size(): number {
    return this.claims.size;
  }

  private sweep(now: number): void {
    for (const [key, until] of this.claims) {
      if (until <= now) this.claims.delete(key);
    }
    this.nextSweepAt = now + SWEEP_INTERVAL_MS;
  }
}
