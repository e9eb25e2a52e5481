import { randomInt } from 'node:crypto';
import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { OAuth2Metrics } from '../observability/metrics.js';
import type { OAuth2ChangeFeed, OAuth2RevocationRecord } from '../state/change-feed.js';
import {
  InMemoryOAuth2RevocationStore,
  OAuth2RevocationStore,
  type OAuth2RevocationSubject,
} from '../state/revocation-store.js';
import { changeChannel } from './redis-change-feed.js';
import type { RedisConnection } from './redis-connection.js';

/**
 * The generation counter is read this often, and the copy reloaded when it moved, whatever the feed said: the
 * bound on a missed message.
 */
export const REVOCATION_RELOAD_INTERVAL_MS = 10_000;

/** Expired entries pruned per write, at most (a script must stay short). */
const PRUNE_BATCH = 1000;

/**
 * KEYS: revoked tokens (jti → expiresAt), clients' not-before (clientId → ms), clients' expiry (clientId → ms),
 * the generation. ARGV: now, channel, message ('' publishes nothing), a random first generation, then per
 * revocation: kind, id, notBefore, expiresAt. Prunes what has expired, records the revocations (GT: a client's
 * not-before and every expiry only move forward), moves the generation on (from a random start when it is
 * missing, so a Redis that lost it never repeats one an instance saw) and publishes the message, atomically:
 * a revocation is announced only once it is durable.
 */
const REVOKE_SCRIPT = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, ${PRUNE_BATCH})
if #expired > 0 then
  redis.call('ZREM', KEYS[3], unpack(expired))
  redis.call('ZREM', KEYS[2], unpack(expired))
end
for i = 5, #ARGV, 4 do
  if ARGV[i] == 'token' then
    redis.call('ZADD', KEYS[1], 'GT', ARGV[i + 3], ARGV[i + 1])
  else
    redis.call('ZADD', KEYS[2], 'GT', ARGV[i + 2], ARGV[i + 1])
    redis.call('ZADD', KEYS[3], 'GT', ARGV[i + 3], ARGV[i + 1])
  end
end
if redis.call('SETNX', KEYS[4], ARGV[4]) == 0 then redis.call('INCR', KEYS[4]) end
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return 1
`;

/** A revocation as the script's four arguments. */
function scriptArgs(revocation: OAuth2RevocationRecord): (string | number)[] {
  return revocation.kind === 'token'
    ? ['token', revocation.jti, 0, revocation.expiresAt]
    : ['client', revocation.clientId, revocation.notBefore, revocation.expiresAt];
}

/** ZRANGE … WITHSCORES: [member, score, member, score, …] as pairs. */
function pairs(flat: string[]): [string, number][] {
  const result: [string, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) result.push([flat[i]!, Number(flat[i + 1])]);
  return result;
}

/**
 * Revocations kept in Redis (sorted sets scored by expiry, pruned as they expire) with a full copy in this
 * process that `isRevoked()` reads, so checking a token makes no round trip. The copy is loaded at module
 * init, follows the change feed's `revocation` messages (within milliseconds), and merges what Redis holds on
 * `resync` (the feed reconnected), when Redis answers again after an outage, and when the generation every
 * revocation moves has changed, read every 10 s (so a missed message is held at most that long). The one copy
 * is merged into, never rebuilt: its sweep (once a minute) stays off the request path. It never drops an unexpired entry: what Redis lost is written back.
 * `revoke()` writes to Redis and publishes in one script, and rejects while Redis is away: the caller answers
 * 503. While Redis is away the copy keeps what it held; an instance started during the outage holds nothing
 * until Redis returns.
 */
export class RedisOAuth2RevocationStore
  extends OAuth2RevocationStore
  implements OnModuleInit, OnModuleDestroy
{
  private readonly local = new InMemoryOAuth2RevocationStore();
  private readonly keys: [string, string, string, string];
  /** The generation the copy last merged; null when Redis had none. */
  private generation: string | null | undefined;
  private readonly channel: string;
  private readonly reloadIntervalMs: number;
  private reloading: Promise<boolean> | undefined;
  private reloadAgain = false;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly metrics: OAuth2Metrics;

  constructor(
    private readonly connection: RedisConnection,
    private readonly feed: OAuth2ChangeFeed,
    {
      reloadIntervalMs = REVOCATION_RELOAD_INTERVAL_MS,
      metrics = new OAuth2Metrics(),
    }: {
      reloadIntervalMs?: number;
      /** Times each reload (`oauth2.revocation_store.operation.duration`, operation `reload`). */
      metrics?: OAuth2Metrics;
    } = {},
  ) {
    super();
    this.metrics = metrics;
    const prefix = connection.keyPrefix;
    this.keys = [
      `${prefix}revoked:tokens`,
      `${prefix}revoked:clients:not-before`,
      `${prefix}revoked:clients:expiry`,
      `${prefix}revoked:generation`,
    ];
    this.channel = changeChannel(prefix);
    this.reloadIntervalMs = reloadIntervalMs;
  }

  /** Starts following the feed and loads the copy; a Redis that is away is not fatal (see the class). */
  async onModuleInit(): Promise<void> {
    const stopFeed = this.feed.subscribe((change) => {
      if (change.type === 'revocation') this.local.apply(change.revocation);
      else if (change.type === 'resync') void this.reload();
    });
    // The subscriber may be back before the command connection (its reload then fails): reload again then.
    const stopUp = this.connection.onUp(() => void this.reload());
    this.unsubscribe = () => {
      stopFeed();
      stopUp();
    };
    await this.reload();
    this.timer = setInterval(() => void this.poll(), this.reloadIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    clearInterval(this.timer);
  }

  async revoke(revocation: OAuth2RevocationRecord): Promise<void> {
    const now = Date.now();
    if (revocation.expiresAt <= now) return;
    await this.write([revocation], JSON.stringify({ type: 'revocation', revocation }), now);
    // This instance refuses it at once, before its own message comes back.
    this.local.apply(revocation);
  }

  isRevoked(token: OAuth2RevocationSubject): boolean {
    return this.local.isRevoked(token);
  }

  /**
   * Merges what Redis holds into the copy, and writes back what the copy holds and Redis lost. False when
   * Redis could not be read: the copy stays. Asked again while one runs, another follows it (the running one
   * may have read before what prompted the call).
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

  /**
   * A revocation is never taken back before its expiry: Redis losing it (a restart without persistence, a
   * failover, eviction, FLUSH) must not make every instance forget it. So the copy keeps every unexpired entry
   * it holds, and those Redis lacks are written back, in one script that announces nothing (every instance
   * already heard them, or reads them at its next reload).
   */
  private async load(): Promise<boolean> {
    const started = performance.now();
    let failed = true;
    try {
      const now = Date.now();
      // One connection runs these in order: a revocation written after the GET moves the generation again.
      const [generation, tokens, notBefore, expiry] = await this.connection.run((redis) =>
        Promise.all([
          redis.get(this.keys[3]),
          redis.zrangebyscore(this.keys[0], `(${now}`, '+inf', 'WITHSCORES'),
          redis.zrange(this.keys[1], 0, -1, 'WITHSCORES'),
          redis.zrangebyscore(this.keys[2], `(${now}`, '+inf', 'WITHSCORES'),
        ]),
      );
      const heldTokens = new Map(pairs(tokens));
      const notBefores = new Map(pairs(notBefore));
      const expiries = new Map(pairs(expiry));
      for (const [jti, expiresAt] of heldTokens) {
        this.local.apply({ kind: 'token', jti, expiresAt }, now);
      }
      for (const [clientId, expiresAt] of expiries) {
        const since = notBefores.get(clientId);
        if (since !== undefined)
          this.local.apply({ kind: 'client', clientId, notBefore: since, expiresAt }, now);
      }
      const lost = this.local
        .records(now)
        .filter((record) =>
          record.kind === 'token'
            ? (heldTokens.get(record.jti) ?? 0) < record.expiresAt
            : (notBefores.get(record.clientId) ?? -1) < record.notBefore ||
              (expiries.get(record.clientId) ?? 0) < record.expiresAt,
        );
      if (lost.length > 0) {
        await this.write(lost, '', now);
        this.connection.degraded(
          'revocations-lost',
          `Redis had lost ${lost.length} revocation(s) this instance holds; written back`,
        );
      }
      this.generation = generation;
      failed = false;
      return true;
    } catch (error) {
      this.connection.degraded(
        'revocations',
        `Revocations could not be reloaded (${(error as Error).message}); this instance checks tokens ` +
          `against the ${this.local.size} revocation(s) it holds until Redis is back`,
      );
      return false;
    } finally {
      this.metrics.revocationStore('reload', performance.now() - started, failed);
    }
  }

  /**
   * Reloads when the generation moved since the last merge (or is missing: Redis lost it, or never had one),
   * so the steady state reads one key, not the whole set. A Redis that is away is left to `onUp`.
   */
  private async poll(): Promise<void> {
    let generation: string | null;
    try {
      generation = await this.connection.run((redis) => redis.get(this.keys[3]));
    } catch {
      return;
    }
    if (generation === null || generation !== this.generation) await this.reload();
  }

  /** Records `revocations` in Redis in one script, publishing `message` unless it is empty. */
  private async write(
    revocations: OAuth2RevocationRecord[],
    message: string,
    now: number,
  ): Promise<void> {
    await this.connection.run((redis) =>
      redis.eval(
        REVOKE_SCRIPT,
        4,
        ...this.keys,
        now,
        this.channel,
        message,
        randomInt(2 ** 47),
        ...revocations.flatMap(scriptArgs),
      ),
    );
  }
}
