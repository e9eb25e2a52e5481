import { Injectable, Logger } from '@nestjs/common';
import { describeStorageError } from '../errors/storage-error.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2Config } from '../oauth2-config.js';
import { refusal } from './auth-failure.js';
import { fieldsDigest } from './fields-digest.js';
import { OAuth2ThrottleStore } from './throttle.store.js';

/** The first delay once an address has used up its free failures for a client id; it doubles after each. */
const BASE_DELAY_MS = 250;

/** What the throttle decided before an authentication. */
export interface ThrottleVerdict {
  /** Wait this long before answering. */
  delayMs: number;
  /** Whether this address has failures counted for this client id (a success then clears them). */
  failedBefore: boolean;
}

/**
 * Throttles online guessing of client secrets (RFC 6749 §10.10, RFC 9700 §4.x), per client id and remote
 * address, so that failures from one address never slow another:
 *
 * - each (client id, address) pair has `freeFailures` failures per window; past them, its next attempts wait an
 *   increasing delay (250 ms, doubling, up to `maxDelayMs`), and at `maxFailures` it gets 429 with Retry-After
 *   until its window ends; a success from that address clears its count;
 * - a client id failed `maxFailuresPerClient` times from all addresses together (a distributed attack) also
 *   answers 429, but only to addresses that have failed for it themselves: an address without failures, the
 *   client's own, is never held back by anybody else's.
 *
 * Counts live in the OAuth2ThrottleStore. A store that fails is logged and the request goes on unthrottled:
 * throttling never takes the token endpoint down.
 */
@Injectable()
export class ClientAuthThrottle {
  private readonly logger = new Logger('OAuth2');

  constructor(
    private readonly store: OAuth2ThrottleStore,
    private readonly config: OAuth2Config,
  ) {}

  /** Refuses (429) or delays an attempt according to the failures counted for it. */
  async admit(clientId: string, address: string): Promise<ThrottleVerdict> {
    const settings = this.config.clientAuthThrottle;
    if (!settings) return { delayMs: 0, failedBefore: false };
    const pair = await this.read(pairKey(clientId, address));
    const now = Date.now();
    const failures = pair?.count ?? 0;
    if (pair && failures >= settings.maxFailures) throw tooMany(pair.resetAt, now);
    // The client id's own count matters only to an address that has failed for it: the usual request, from
    // an address without failures, reads one key.
    const client = pair && (await this.read(clientKey(clientId)));
    if (client && client.count >= settings.maxFailuresPerClient) {
      throw tooMany(client.resetAt, now);
    }
    const over = failures - settings.freeFailures;
    const delayMs = over < 0 ? 0 : Math.min(settings.maxDelayMs, BASE_DELAY_MS * 2 ** over);
    return { delayMs, failedBefore: failures > 0 };
  }

  /** Counts a failed authentication. */
  async failed(clientId: string, address: string): Promise<void> {
    const settings = this.config.clientAuthThrottle;
    if (!settings) return;
    const windowMs = settings.window * 1000;
    await this.guarded(() =>
      Promise.all([
        this.store.increment(pairKey(clientId, address), windowMs),
        this.store.increment(clientKey(clientId), windowMs),
      ]),
    );
  }

  /** A success clears this address's failures for the client id (only when it had some: no write per token). */
  async succeeded(clientId: string, address: string, verdict: ThrottleVerdict): Promise<void> {
    if (!this.config.clientAuthThrottle || !verdict.failedBefore) return;
    await this.guarded(() => this.store.reset(pairKey(clientId, address)));
  }

  private read(key: string) {
    return this.guarded(() => this.store.get(key));
  }

  private async guarded<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (error) {
      this.logger.warn(
        `Failed-authentication throttling skipped, its store failed: ${describeStorageError(error)}`,
        { event: 'oauth2.client_auth.throttle_store_failed' },
      );
      return undefined;
    }
  }
}

function tooMany(resetAt: number, now: number): OAuth2Error {
  return refusal(
    'throttled',
    OAuth2Error.tooManyFailures(Math.max(1, Math.ceil((resetAt - now) / 1000))),
  );
}

const pairKey = (clientId: string, address: string) =>
  `oauth2:fail:pair:${fieldsDigest(clientId, address)}`;
const clientKey = (clientId: string) => `oauth2:fail:client:${fieldsDigest(clientId)}`;
