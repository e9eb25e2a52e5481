import type { OAuthClientRepository } from '../clients/oauth-client.repository.js';
import { describeStorageError } from '../errors/storage-error.js';
import type { OAuth2KeyRing } from '../keys/key-ring.js';
import type { OAuth2KeyStore } from '../keys/key-store.js';
import { OAuth2KeyStoreError } from '../keys/key-store-error.js';
import { loggableUrl } from '../observability/startup-log.js';
import { RedisUnavailableError, type RedisConnection } from '../redis/redis-connection.js';

/** One check's outcome, with details that name what was checked: never a secret, a password or key material. */
export type OAuth2HealthCheck = {
  status: 'up' | 'down';
  /** Why it is down. */
  reason?: string;
  [detail: string]: string | number | null | undefined;
};

/**
 * What `isHealthy(key)` resolves to: under `key`, `up` when every check is up, each check's outcome beside.
 * The shape of a @nestjs/terminus `HealthIndicatorResult`, so `HealthCheckService.check()` takes it as it is.
 */
export type OAuth2HealthIndicatorResult = Record<
  string,
  {
    status: 'up' | 'down';
    storage: OAuth2HealthCheck;
    signingKey: OAuth2HealthCheck;
    redis?: OAuth2HealthCheck;
  }
>;

export interface OAuth2HealthIndicatorOptions {
  /** The client storage itself, not a cache in front of it: a cached lookup would answer for a dead database. */
  clients: OAuthClientRepository;
  keyRing: OAuth2KeyRing;
  /** The key store, when the keys come from one. */
  keyStore?: OAuth2KeyStore;
  /** The module's Redis connection and its URL, with `store.redis`. */
  redis?: { connection: RedisConnection; url: string };
  /** How long each check may take before it counts as down (the module's `storageTimeoutMs`). */
  timeoutMs: number;
}

/** The id looked up: whether a client has it does not matter, the storage answered. */
const PROBE_CLIENT_ID = 'oauth2-health-check';

/**
 * A health indicator for @nestjs/terminus (an optional integration: nothing of terminus is imported). Three
 * checks run concurrently, each bounded by `storageTimeoutMs`:
 * - `storage`: the client storage answers a lookup by id (a cheap indexed read);
 * - `signingKey`: the key ring holds an active signing key, and the key store, when the keys come from one,
 *   still holds an active key (else no other instance could start, nor this one follow a rotation);
 * - `redis`, with `store.redis`: Redis answers PING.
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.oauth2.isHealthy('oauth2')]); }
 * ```
 */
export class OAuth2HealthIndicator {
  constructor(private readonly options: OAuth2HealthIndicatorOptions) {}

  /** Runs the checks; `down` (terminus answers 503) when any of them is. */
  async isHealthy(key = 'oauth2'): Promise<OAuth2HealthIndicatorResult> {
    const { redis } = this.options;
    const [storage, signingKey, redisCheck] = await Promise.all([
      this.bounded(() => this.storage()),
      this.bounded(() => this.signingKey()),
      redis
        ? this.bounded(() => this.redis(redis.connection), { url: loggableUrl(redis.url) })
        : null,
    ]);
    const checks = { storage, signingKey, ...(redisCheck ? { redis: redisCheck } : {}) };
    const up = Object.values(checks).every((check) => check.status === 'up');
    return { [key]: { status: up ? 'up' : 'down', ...checks } };
  }

  private async storage(): Promise<OAuth2HealthCheck> {
    await this.options.clients.findById(PROBE_CLIENT_ID);
    return { status: 'up' };
  }

  private async signingKey(): Promise<OAuth2HealthCheck> {
    let active;
    try {
      active = this.options.keyRing.current.active;
    } catch {
      return { status: 'down', reason: 'no signing key is loaded' };
    }
    const loaded = { kid: active.kid ?? null, algorithm: active.algorithm };
    const { keyStore } = this.options;
    if (!keyStore) return { status: 'up', ...loaded };
    const stored = (await keyStore.list()).find((key) => key.state === 'active');
    if (!stored) {
      return { status: 'down', ...loaded, reason: 'the key store holds no active signing key' };
    }
    // After a rotation the ring follows within the key refresh interval: both are shown, either is fine.
    return { status: 'up', ...loaded, storedActiveKid: stored.kid };
  }

  private async redis(connection: RedisConnection): Promise<OAuth2HealthCheck> {
    await connection.run((client) => client.ping());
    return { status: 'up' };
  }

  /** The check, down when it throws or takes longer than the timeout; `details` shown either way. */
  private async bounded(
    check: () => Promise<OAuth2HealthCheck>,
    details: Record<string, string> = {},
  ): Promise<OAuth2HealthCheck> {
    const { timeoutMs } = this.options;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<OAuth2HealthCheck>((resolve) => {
      timer = setTimeout(
        () => resolve({ status: 'down', reason: `no answer within ${timeoutMs} ms` }),
        timeoutMs,
      );
      timer.unref();
    });
    try {
      return { ...details, ...(await Promise.race([check(), timeout])) };
    } catch (error) {
      return { ...details, status: 'down', reason: reasonOf(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Our own errors name kids and settings (and Redis without its password); a driver's may quote anything. */
function reasonOf(error: unknown): string {
  if (error instanceof RedisUnavailableError || error instanceof OAuth2KeyStoreError) {
    return error.message;
  }
  return describeStorageError(error);
}
