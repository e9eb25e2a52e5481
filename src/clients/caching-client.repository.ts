import { LRUCache } from 'lru-cache';
import { OAuthClient } from './oauth-client.entity.js';
import { OAuthClientRepository } from './oauth-client.repository.js';

interface Entry {
  client: OAuthClient | null;
}

/**
 * A short-lived, bounded cache in front of another repository, so a hot client does not cost a database round
 * trip per token. Its own writes evict at once; writes made elsewhere (the CLI in another process) show after
 * at most `ttl` seconds. Unknown ids are cached too, so a flood of made-up ids does not reach the database
 * once per request. Callers get copies: nothing they change leaks into the cache.
 */
export class CachingOAuthClientRepository extends OAuthClientRepository {
  private readonly cache: LRUCache<string, Entry>;
  private readonly pending = new Map<string, Promise<OAuthClient | null>>();
  /** Bumped by every write: a lookup that overlapped one does not cache its (possibly stale) result. */
  private writes = 0;

  constructor(
    readonly inner: OAuthClientRepository,
    options: { ttl: number; max: number },
  ) {
    super();
    this.cache = new LRUCache({ max: options.max, ttl: options.ttl * 1000 });
  }

  async findById(clientId: string): Promise<OAuthClient | null> {
    const entry = this.cache.get(clientId);
    if (entry) return copy(entry.client);
    let lookup = this.pending.get(clientId);
    if (!lookup) {
      const writesBefore = this.writes;
      lookup = this.inner.findById(clientId);
      this.pending.set(clientId, lookup);
      lookup.then(
        (client) => {
          this.pending.delete(clientId);
          if (this.writes === writesBefore) this.cache.set(clientId, { client: copy(client) });
        },
        () => this.pending.delete(clientId),
      );
    }
    return copy(await lookup);
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
    this.writes++;
    this.cache.delete(clientId);
    try {
      return await write;
    } finally {
      this.writes++;
      this.cache.delete(clientId);
    }
  }
}

const copy = (client: OAuthClient | null): OAuthClient | null =>
  client ? OAuthClient.create(client) : null;
