import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { OAuth2ChangeFeed, OAuth2RevocationRecord } from '../state/change-feed.js';
import {
  InMemoryOAuth2RevocationStore,
  OAuth2RevocationStore,
  type OAuth2RevocationSubject,
} from '../state/revocation-store.js';
import { changeChannel } from './redis-change-feed.js';
import type { RedisConnection } from './redis-connection.js';

/** The local copy is reloaded whole this often, whatever the feed said: the bound on a missed message. */
export const REVOCATION_RELOAD_INTERVAL_MS = 10_000;

/** Expired entries pruned per write, at most (a script must stay short). */
const PRUNE_BATCH = 1000;

/**
 * KEYS: revoked tokens (jti → expiresAt), clients' not-before (clientId → ms), clients' expiry (clientId → ms).
 * ARGV: now, kind, id, notBefore, expiresAt, channel, message. Prunes what has expired, records the
 * revocation (GT: a client's not-before and every expiry only move forward) and publishes it, atomically: a
 * revocation is announced only once it is durable.
 */
const REVOKE_SCRIPT = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, ${PRUNE_BATCH})
if #expired > 0 then
  redis.call('ZREM', KEYS[3], unpack(expired))
  redis.call('ZREM', KEYS[2], unpack(expired))
end
if ARGV[2] == 'token' then
  redis.call('ZADD', KEYS[1], 'GT', ARGV[5], ARGV[3])
else
  redis.call('ZADD', KEYS[2], 'GT', ARGV[4], ARGV[3])
  redis.call('ZADD', KEYS[3], 'GT', ARGV[5], ARGV[3])
end
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1
`;

/** ZRANGE … WITHSCORES: [member, score, member, score, …] as pairs. */
function pairs(flat: string[]): [string, number][] {
  const result: [string, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) result.push([flat[i]!, Number(flat[i + 1])]);
  return result;
}

/**
 * Revocations kept in Redis (sorted sets scored by expiry, pruned as they expire) with a full copy in this
 * process that `isRevoked()` reads, so checking a token makes no round trip. The copy is loaded at module
 * init, follows the change feed's `revocation` messages (within milliseconds), is reloaded whole on `resync`
 * (the feed reconnected) and when Redis answers again after an outage, and every 10 s (so a missed message is held at most that long). `revoke()` writes to
 * Redis and publishes in one script, and rejects while Redis is away: the caller answers 503. While Redis is
 * away the copy keeps what it held; an instance started during the outage holds nothing until Redis returns.
 */
export class RedisOAuth2RevocationStore
  extends OAuth2RevocationStore
  implements OnModuleInit, OnModuleDestroy
{
  private local = new InMemoryOAuth2RevocationStore();
  /** Revocations heard while a reload is under way, applied again to its result. */
  private heardDuringReload: OAuth2RevocationRecord[] | undefined;
  private readonly keys: [string, string, string];
  private readonly channel: string;
  private readonly reloadIntervalMs: number;
  private reloading: Promise<boolean> | undefined;
  private reloadAgain = false;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: RedisConnection,
    private readonly feed: OAuth2ChangeFeed,
    { reloadIntervalMs = REVOCATION_RELOAD_INTERVAL_MS }: { reloadIntervalMs?: number } = {},
  ) {
    super();
    const prefix = connection.keyPrefix;
    this.keys = [
      `${prefix}revoked:tokens`,
      `${prefix}revoked:clients:not-before`,
      `${prefix}revoked:clients:expiry`,
    ];
    this.channel = changeChannel(prefix);
    this.reloadIntervalMs = reloadIntervalMs;
  }

  /** Starts following the feed and loads the copy; a Redis that is away is not fatal (see the class). */
  async onModuleInit(): Promise<void> {
    const stopFeed = this.feed.subscribe((change) => {
      if (change.type === 'revocation') this.apply(change.revocation);
      else if (change.type === 'resync') void this.reload();
    });
    // The subscriber may be back before the command connection (its reload then fails): reload again then.
    const stopUp = this.connection.onUp(() => void this.reload());
    this.unsubscribe = () => {
      stopFeed();
      stopUp();
    };
    await this.reload();
    this.timer = setInterval(() => void this.reload(), this.reloadIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    clearInterval(this.timer);
  }

  async revoke(revocation: OAuth2RevocationRecord): Promise<void> {
    const now = Date.now();
    if (revocation.expiresAt <= now) return;
    const [id, notBefore] =
      revocation.kind === 'token'
        ? [revocation.jti, 0]
        : [revocation.clientId, revocation.notBefore];
    const message = JSON.stringify({ type: 'revocation', revocation });
    await this.connection.run((redis) =>
      redis.eval(
        REVOKE_SCRIPT,
        3,
        ...this.keys,
        now,
        revocation.kind,
        id,
        notBefore,
        revocation.expiresAt,
        this.channel,
        message,
      ),
    );
    // This instance refuses it at once, before its own message comes back.
    this.apply(revocation);
  }

  isRevoked(token: OAuth2RevocationSubject): boolean {
    return this.local.isRevoked(token);
  }

  /**
   * Replaces the copy with what Redis holds. False when Redis could not be read: the copy stays. Asked again
   * while one runs, another follows it (the running one may have read before what prompted the call).
   */
  reload(): Promise<boolean> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = this.load().finally(() => {
      this.reloading = undefined;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        void this.reload();
      }
    });
    return this.reloading;
  }

  private async load(): Promise<boolean> {
    this.heardDuringReload = [];
    try {
      const now = Date.now();
      const [tokens, notBefore, expiry] = await this.connection.run((redis) =>
        Promise.all([
          redis.zrangebyscore(this.keys[0], `(${now}`, '+inf', 'WITHSCORES'),
          redis.zrange(this.keys[1], 0, -1, 'WITHSCORES'),
          redis.zrangebyscore(this.keys[2], `(${now}`, '+inf', 'WITHSCORES'),
        ]),
      );
      const next = new InMemoryOAuth2RevocationStore();
      for (const [jti, expiresAt] of pairs(tokens)) {
        next.apply({ kind: 'token', jti, expiresAt }, now);
      }
      const notBefores = new Map(pairs(notBefore));
      for (const [clientId, expiresAt] of pairs(expiry)) {
        const since = notBefores.get(clientId);
        if (since !== undefined)
          next.apply({ kind: 'client', clientId, notBefore: since, expiresAt }, now);
      }
      for (const revocation of this.heardDuringReload) next.apply(revocation);
      this.local = next;
      return true;
    } catch (error) {
      this.connection.degraded(
        'revocations',
        `Revocations could not be reloaded (${(error as Error).message}); this instance checks tokens ` +
          `against the ${this.local.size} revocation(s) it holds until Redis is back`,
      );
      return false;
    } finally {
      this.heardDuringReload = undefined;
    }
  }

  private apply(revocation: OAuth2RevocationRecord): void {
    this.local.apply(revocation);
    this.heardDuringReload?.push(revocation);
  }
}
