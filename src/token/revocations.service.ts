import { Injectable, Logger } from '@nestjs/common';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { describeStorageError } from '../errors/storage-error.js';
import { OAuth2Config } from '../oauth2-config.js';
import { OAuth2EventSink } from '../observability/events.js';
import { OAuth2Metrics } from '../observability/metrics.js';
import type { OAuth2RevocationRecord } from '../state/change-feed.js';
import { clientRevocation, OAuth2RevocationStore } from '../state/revocation-store.js';
import { TokenService } from './token.service.js';

const STORE_RETRY_AFTER_SECONDS = 5;

/**
 * Takes access tokens back before their `exp`: one token (the revocation endpoint, RFC 7009), or every token a
 * client holds (for a host app that disables or deletes a client through the repository). Both are recorded
 * in the OAuth2RevocationStore, which the module's guard consults: on this instance alone with the in-memory
 * store, on every instance with a shared one.
 */
@Injectable()
export class OAuth2Revocations {
  private readonly logger = new Logger('OAuth2');

  constructor(
    private readonly tokens: TokenService,
    private readonly store: OAuth2RevocationStore,
    private readonly config: OAuth2Config,
    private readonly events: OAuth2EventSink,
    private readonly metrics: OAuth2Metrics,
  ) {}

  /**
   * RFC 7009 §2.1: revokes `token` when it is an access token this server issued to `clientId`, until its
   * `exp`. Anything else (malformed, not ours, expired, another client's) is left alone and the endpoint still
   * answers 200 (§2.2), so a client learns nothing of tokens not its own. Rejects with a 503 OAuth2Error when
   * the store cannot record it (§2.2.1): the token was not revoked. A revocation is an `oauth2.token.revoked`
   * event with the token's jti.
   */
  async revokeToken(clientId: string, token: string): Promise<void> {
    const principal = await this.tokens.verifyIssued(token);
    if (principal?.clientId !== clientId) return;
    const { jti, exp } = principal.claims;
    try {
      // Refused for as long as the verifier would take it: until exp plus the clock tolerance.
      await this.record({
        kind: 'token',
        jti,
        expiresAt: (Math.ceil(exp) + this.config.clockTolerance) * 1000,
      });
    } catch (error) {
      this.logger.error(`The revocation store failed: ${describeStorageError(error)}`, {
        event: 'oauth2.token.revocation_store_failed',
      });
      throw OAuth2Error.temporarilyUnavailable(STORE_RETRY_AFTER_SECONDS);
    }
    this.events.emit({ type: 'oauth2.token.revoked', clientId, jti, source: 'app' });
  }

  /**
   * Revokes every access token issued to `clientId` until now (and up to `clockTolerance` ahead, for instances
   * whose clock runs ahead), for as long as any of them could still be valid (`maxAccessTokenLifetime` plus
   * `clockTolerance`). Call it after disabling or deleting a client, or
   * revoking all of its secrets, so that the tokens it holds stop working at once. Rejects with the store's
   * error when the store cannot record it. A revocation is an `oauth2.token.revoked` event with jti null and
   * the `notBefore` tokens issued before are refused.
   */
  async revokeClientTokens(clientId: string): Promise<void> {
    const record = clientRevocation(clientId, Date.now(), this.config);
    await this.record(record);
    const { notBefore } = record as Extract<OAuth2RevocationRecord, { kind: 'client' }>;
    this.events.emit({
      type: 'oauth2.token.revoked',
      clientId,
      jti: null,
      notBefore: new Date(notBefore).toISOString(),
      source: 'app',
    });
  }

  /** The store's revoke, timed for `OAuth2Metrics.revocationStore`. */
  private async record(record: OAuth2RevocationRecord): Promise<void> {
    const started = performance.now();
    let failed = true;
    try {
      await this.store.revoke(record);
      failed = false;
    } finally {
      this.metrics.revocationStore('revoke', performance.now() - started, failed);
    }
  }
}
