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
  /** How long a result is answered again before the checks run anew, in ms. @default 1000 */
  cacheMs?: number;
}

type Checks = Omit<OAuth2HealthIndicatorResult[string], 'status'>;

/** The id looked up: whether a client has it does not matter, the storage answered. */
const PROBE_CLIENT_ID = 'oauth2-health-check';

/**
 * A health indicator for @nestjs/terminus (an optional integration: nothing of terminus is imported). Three
 * checks run concurrently, each bounded by `storageTimeoutMs`:
 * - `storage`: the client storage answers a lookup by id (a cheap indexed read);
 * - `signingKey`: the key ring holds an active signing key, and the key store, when the keys come from one,
 *   still holds an active key (else no other instance could start, nor this one follow a rotation);
 * - `redis`, with `store.redis`: Redis answers PING; `url` names it (without user or password).
 *
 * One run at a time, shared by every caller that asks meanwhile, and its result answered again for `cacheMs`
 * (1 s): probes that come faster, or pile up while a dead database lets a query hang, run no more queries. A
 * check that timed out may leave its query pending: at most one per run.
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.oauth2.isHealthy('oauth2')]); }
 * ```
 */
export class OAuth2HealthIndicator {
  private running: Promise<Checks> | undefined;
  private last: { at: number; checks: Checks } | undefined;

  constructor(private readonly options: OAuth2HealthIndicatorOptions) {}

  /** Runs the checks (or shares a run in flight or answered within `cacheMs`); `down` (503) when any is. */
  async isHealthy(key = 'oauth2'): Promise<OAuth2HealthIndicatorResult> {
    const checks = await this.checks();
    const up = Object.values(checks).every((check) => check.status === 'up');
    // Copies: a caller (terminus merges results) must not change what the next caller is answered.
    const copies = Object.fromEntries(
      Object.entries(checks).map(([name, check]) => [name, { ...check }]),
    ) as Checks;
    return { [key]: { status: up ? 'up' : 'down', ...copies } };
  }

  private checks(): Promise<Checks> {
    const { cacheMs = 1000 } = this.options;
    if (this.last && Date.now() - this.last.at < cacheMs) return Promise.resolve(this.last.checks);
    this.running ??= this.run()
      .then((checks) => {
        this.last = { at: Date.now(), checks };
        return checks;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async run(): Promise<Checks> {
    const { redis } = this.options;
    const [storage, signingKey, redisCheck] = await Promise.all([
      this.bounded(() => this.storage()),
      this.bounded(() => this.signingKey()),
      redis ? this.redisCheck(redis.connection, loggableUrl(redis.url)) : null,
    ]);
    return { storage, signingKey, ...(redisCheck ? { redis: redisCheck } : {}) };
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

  /** `url` names Redis once: the reason does not repeat it (RedisConnection's messages start with it). */
  private async redisCheck(connection: RedisConnection, url: string): Promise<OAuth2HealthCheck> {
    const check = await this.bounded(async (): Promise<OAuth2HealthCheck> => {
      await connection.run((client) => client.ping());
      return { status: 'up' };
    });
    const reason = check.reason?.split(` at ${url}`).join('');
    return { url, ...check, ...(reason === undefined ? {} : { reason }) };
  }

  /** The check, down when it throws or takes longer than the timeout. */
  private async bounded(check: () => Promise<OAuth2HealthCheck>): Promise<OAuth2HealthCheck> {
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
      return await Promise.race([check(), timeout]);
    } catch (error) {
      return { status: 'down', reason: reasonOf(error) };
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
