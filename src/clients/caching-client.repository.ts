import { LRUCache } from 'lru-cache';
import { OAuthClient } from './oauth-client.entity.js';
import { OAuthClientRepository } from './oauth-client.repository.js';

interface Entry {
  client: OAuthClient | null;
}

interface Pending {
  lookup: Promise<OAuthClient | null>;
  startedAt: number;
}

/**
 * A short-lived, bounded cache in front of another repository, so a hot client does not cost a database round
 * trip per token. Its own writes evict at once; writes made elsewhere (the CLI in another process) show after
 * at most `ttl` seconds. Unknown ids are cached too, so a flood of made-up ids does not reach the database
 * once per request. Callers get copies: nothing they change leaks into the cache.
 */
export class CachingOAuthClientRepository extends OAuthClientRepository {
  private readonly cache: LRUCache<string, Entry>;
  private readonly pending = new Map<string, Pending>();
  /** Bumped by every write: a lookup that overlapped one does not cache its (possibly stale) result. */
  private writes = 0;

  constructor(
    readonly inner: OAuthClientRepository,
    options: { ttl: number; max: number; maxWaitMs: number },
  ) {
    super();
    this.cache = new LRUCache({ max: options.max, ttl: options.ttl * 1000 });
    this.maxWaitMs = options.maxWaitMs;
  }

  /**
   * How long, in ms, a lookup in progress may be joined. A lookup that hangs (a database that accepted the
   * query and never answers) must not hold its client id hostage once storage works again.
   */
  private readonly maxWaitMs: number;

  async findById(clientId: string): Promise<OAuthClient | null> {
    const entry = this.cache.get(clientId);
    if (entry) return copy(entry.client);
    const now = Date.now();
    let pending = this.pending.get(clientId);
    if (!pending || now - pending.startedAt > this.maxWaitMs) {
      const writesBefore = this.writes;
      const started: Pending = { lookup: this.inner.findById(clientId), startedAt: now };
      pending = started;
      this.pending.set(clientId, started);
      const settle = () => {
        if (this.pending.get(clientId) === started) this.pending.delete(clientId);
      };
      started.lookup.then((client) => {
        settle();
        if (this.writes === writesBefore) this.cache.set(clientId, { client: copy(client) });
      }, settle);
    }
    return copy(await pending.lookup);
  }

  list(): Promise<OAuthClient[]> {
    return this.inner.list();
  }

  async save(client: OAuthClient): Promise<void> {
    await this.written(client.clientId, this.inner.save(client));
  }

  async updateSecret(clientId: string, expected: string, next: string): Promise<boolean> {
    return this.written(clientId, this.inner.updateSecret(clientId, expected, next));
  }

  async delete(clientId: string): Promise<boolean> {
    return this.written(clientId, this.inner.delete(clientId));
  }

  private async written<T>(clientId: string, write: Promise<T>): Promise<T> {
    this.forget(clientId);
    try {
      return await write;
    } finally {
      this.forget(clientId);
    }
  }

  /** A lookup begun before a write must neither be cached nor joined by a later request. */
  private forget(clientId: string): void {
    this.writes++;
    this.cache.delete(clientId);
    this.pending.delete(clientId);
  }
}

const copy = (client: OAuthClient | null): OAuthClient | null =>
  client ? OAuthClient.create(client) : null;
