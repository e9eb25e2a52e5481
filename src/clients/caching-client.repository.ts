import { describeStorageError } from '../errors/storage-error.js';
import { Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { OAuth2LogFields } from '../observability/log-fields.js';
import type { OAuth2ChangeFeed } from '../state/change-feed.js';
import { OAuthClient, type OAuthClientSecret } from './oauth-client.entity.js';
import { OAuthClientRepository, type CachedClient } from './oauth-client.repository.js';

interface Pending<T> {
  lookup: Promise<T>;
  startedAt: number;
}

interface CacheOptions {
  ttl: number;
  max: number;
  maxWaitMs: number;
  /** Where this cache's own writes are announced, so other instances evict the client at once. */
  changes?: OAuth2ChangeFeed;
}

/**
 * One kind of lookup by client id, cached and shared: concurrent lookups of one id make one storage read, and a
 * read that overlapped a write of its id is neither cached nor joined later.
 */
class Memo<T> {
  private readonly cache: LRUCache<string, { value: T }>;
  private readonly pending = new Map<string, Pending<T>>();
  /** Bumped by every write: a lookup that overlapped one does not cache its (possibly stale) result. */
  private writes = 0;

  constructor(
    private readonly options: CacheOptions,
    private readonly copy: (value: T) => T,
  ) {
    this.cache = new LRUCache({ max: options.max, ttl: options.ttl * 1000 });
  }

  async get(key: string, read: () => Promise<T>): Promise<T> {
    const entry = this.cache.get(key);
    if (entry) return this.copy(entry.value);
    const now = Date.now();
    let pending = this.pending.get(key);
    // A lookup that hangs (a database that accepted the query and never answers) must not hold its id hostage
    // once storage works again: past maxWaitMs a new one starts.
    if (!pending || now - pending.startedAt > this.options.maxWaitMs) {
      const writesBefore = this.writes;
      const started: Pending<T> = { lookup: read(), startedAt: now };
      pending = started;
      this.pending.set(key, started);
      const settle = () => {
        if (this.pending.get(key) === started) this.pending.delete(key);
      };
      started.lookup.then((value) => {
        settle();
        if (this.writes === writesBefore) this.cache.set(key, { value: this.copy(value) });
      }, settle);
      // A lookup that never settles (a hung database) must not stay in the map forever: it is let go when no
      // request may join it any more.
      setTimeout(settle, this.options.maxWaitMs + 1).unref();
    }
    return this.copy(await pending.lookup);
  }

  /** A copy of what is cached under `key`, without a lookup; undefined when nothing is. */
  peek(key: string): { value: T } | undefined {
    const entry = this.cache.get(key);
    return entry && { value: this.copy(entry.value) };
  }

  forget(key: string): void {
    this.writes++;
    this.cache.delete(key);
    this.pending.delete(key);
  }

  forgetAll(): void {
    this.writes++;
    this.cache.clear();
    this.pending.clear();
  }
}

/**
 * A short-lived, bounded cache in front of another repository, so a hot client does not cost a database round
 * trip per token. Its own writes evict at once; writes made elsewhere (the CLI in another process) show after
 * at most `ttl` seconds, or at once when they are announced on the change feed (`evict()`). Unknown ids are cached too, so a flood of made-up ids does not reach the database
 * once per request. Callers get copies: nothing they change leaks into the cache.
 */
export class CachingOAuthClientRepository extends OAuthClientRepository {
  private readonly clients: Memo<OAuthClient | null>;
  private readonly secrets: Memo<OAuthClientSecret[]>;
  private readonly changes: OAuth2ChangeFeed | undefined;
  private readonly logger = new Logger('OAuth2');

  constructor(
    readonly inner: OAuthClientRepository,
    options: CacheOptions,
  ) {
    super();
    this.changes = options.changes;
    this.clients = new Memo(options, (client) => (client ? OAuthClient.create(client) : null));
    this.secrets = new Memo(options, (secrets) => secrets.map((secret) => ({ ...secret })));
  }

  findById(clientId: string): Promise<OAuthClient | null> {
    return this.clients.get(clientId, () => this.inner.findById(clientId));
  }

  override findSecrets(clientId: string): Promise<OAuthClientSecret[]> {
    return this.secrets.get(clientId, () => this.inner.findSecrets(clientId));
  }

  /** The client and its secrets when both are cached: the token endpoint then skips the storage timer. */
  override findCached(clientId: string): CachedClient | undefined {
    const client = this.clients.peek(clientId);
    const secrets = client && this.secrets.peek(clientId);
    return secrets && { client: client.value, secrets: secrets.value };
  }

  list(): Promise<OAuthClient[]> {
    return this.inner.list();
  }

  save(client: OAuthClient): Promise<void> {
    return this.written(client.clientId, () => this.inner.save(client));
  }

  updateSecret(clientId: string, expected: string, next: string): Promise<boolean> {
    return this.written(clientId, () => this.inner.updateSecret(clientId, expected, next));
  }

  delete(clientId: string): Promise<boolean> {
    return this.written(clientId, () => this.inner.delete(clientId));
  }

  override addSecret(clientId: string, secret: OAuthClientSecret): Promise<void> {
    return this.written(clientId, () => this.inner.addSecret(clientId, secret));
  }

  override removeSecret(clientId: string, secretId: string): Promise<boolean> {
    return this.written(clientId, () => this.inner.removeSecret(clientId, secretId));
  }

  override expireSecrets(clientId: string, secretIds: readonly string[], at: Date): Promise<void> {
    return this.written(clientId, () => this.inner.expireSecrets(clientId, secretIds, at));
  }

  override rotateSecret(
    clientId: string,
    secret: OAuthClientSecret,
    expireOthersAt: Date,
  ): Promise<string[]> {
    return this.written(clientId, () => this.inner.rotateSecret(clientId, secret, expireOthersAt));
  }

  override updateSecretHash(
    clientId: string,
    secretId: string,
    expected: string,
    next: string,
  ): Promise<boolean> {
    return this.written(clientId, () =>
      this.inner.updateSecretHash(clientId, secretId, expected, next),
    );
  }

  /** A record of use changes nothing authentication reads: the cache stays. */
  override touchSecret(clientId: string, secretId: string, at: Date): Promise<void> {
    return this.inner.touchSecret(clientId, secretId, at);
  }

  /** Drops what is cached of `clientId` (it changed elsewhere). */
  evict(clientId: string): void {
    this.forget(clientId);
  }

  /** Drops everything cached (changes may have been missed). */
  evictAll(): void {
    this.clients.forgetAll();
    this.secrets.forgetAll();
  }

  private async written<T>(clientId: string, write: () => Promise<T>): Promise<T> {
    this.forget(clientId);
    try {
      const result = await write();
      this.announce(clientId);
      return result;
    } finally {
      this.forget(clientId);
    }
  }

  /**
   * Best effort: the write stands whatever happens here; an instance that does not hear of it sees it within
   * its own cache's `ttl`.
   */
  private announce(clientId: string): void {
    this.changes?.publish({ type: 'client', clientId }).catch((error: unknown) => {
      // Its class and code only: a change feed of the host's own could put anything in a message.
      const reason = describeStorageError(error);
      this.logger.warn(
        `A client change could not be announced to other instances (${reason}); ` +
          'they see it within their client cache TTL',
        {
          event: 'oauth2.clients.change_not_announced',
          clientId,
          reason,
        } satisfies OAuth2LogFields,
      );
    });
  }

  /** A lookup begun before a write must neither be cached nor joined by a later request. */
  private forget(clientId: string): void {
    this.clients.forget(clientId);
    this.secrets.forget(clientId);
  }
}
