import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { basicAuthorization } from '../http/authorization.js';
import {
  fetchJson,
  limitsOf,
  RemoteDocumentError,
  type FetchFunction,
} from '../keys/bounded-fetch.js';
import { fetchIssuerMetadata, metadataUrl } from '../keys/issuer-metadata.js';
import { loggableUrl } from '../observability/startup-log.js';
import type { OAuth2LogFields } from '../observability/log-fields.js';
import type { OAuthPrincipal } from '../resource/access-token.interface.js';
import type { OAuth2IntrospectionSettings } from './oauth2-resource-server-config.js';

/** What the introspector needs of the resource server's settings. */
export interface TokenIntrospectorSettings {
  issuer: string;
  /** The issuer's RFC 8414 metadata, read for its `introspection_endpoint` when none is configured. */
  metadataUrl: string | undefined;
  fetchTimeoutMs: number;
  maxJwksBytes: number;
  introspection: Readonly<OAuth2IntrospectionSettings>;
}

/** The issuer's answer for a token, kept until `expiresAt` (ms since the epoch). */
interface Verdict {
  active: boolean;
  expiresAt: number;
}

/**
 * Asks the issuer whether a token that passed the local checks is still active (RFC 7662), so a revoked
 * token is refused within `cacheTtl`:
 *
 * - answers are kept per token for min(cacheTtl, exp − now), under a SHA-256 of the token (the token itself
 *   is never held), in a bounded LRU; concurrent requests with one token share one call;
 * - a call is bounded in time and size; an issuer that cannot be asked (unreachable, an error status, our
 *   credentials refused, a malformed answer) is a 503 with Retry-After, never a token accepted unchecked, and
 *   tokens not in the cache get that 503 without a new call for `failureCooldown` seconds.
 */
export class TokenIntrospector {
  private readonly verdicts: LRUCache<string, Verdict>;
  private readonly pending = new Map<string, Promise<boolean>>();
  private readonly authorization: string;
  private endpoint: string | undefined;
  private failedAt: number | undefined;

  constructor(
    private readonly settings: TokenIntrospectorSettings,
    private readonly fetchFn: FetchFunction = fetch,
    private readonly logger: Pick<Logger, 'warn' | 'error'> = new Logger('OAuth2ResourceServer'),
  ) {
    const { clientId, clientSecret, cacheMaxEntries, endpoint } = settings.introspection;
    this.verdicts = new LRUCache({ max: cacheMaxEntries });
    this.authorization = basicAuthorization(clientId, clientSecret);
    this.endpoint = endpoint;
  }

  /** Resolves when the issuer says the token is active; a 401 when it says not, a 503 when it cannot. */
  async check(token: string, principal: OAuthPrincipal): Promise<void> {
    const key = createHash('sha256').update(token).digest('base64url');
    const cached = this.verdicts.get(key);
    let active: boolean;
    if (cached !== undefined && cached.expiresAt > Date.now()) {
      active = cached.active;
    } else {
      let lookup = this.pending.get(key);
      if (lookup === undefined) {
        lookup = this.introspect(key, token, principal).finally(() => this.pending.delete(key));
        this.pending.set(key, lookup);
      }
      active = await lookup;
    }
    if (!active) throw OAuth2Error.invalidToken('The access token is not active');
  }

  private async introspect(key: string, token: string, principal: OAuthPrincipal) {
    const { failureCooldown, cacheTtl } = this.settings.introspection;
    const wait = (this.failedAt ?? -Infinity) + failureCooldown * 1000 - Date.now();
    if (wait > 0) throw OAuth2Error.temporarilyUnavailable(Math.ceil(wait / 1000));
    let active: boolean;
    try {
      this.endpoint ??= await this.discover();
      const { body } = await fetchJson(this.endpoint, limitsOf(this.settings), this.fetchFn, {
        // RFC 7662 §2.1: the token, with a hint of its type.
        form: { token, token_type_hint: 'access_token' },
        authorization: this.authorization,
      });
      active = this.activeIn(body, principal);
    } catch (error) {
      this.failedAt = Date.now();
      this.logFailure(error);
      throw OAuth2Error.temporarilyUnavailable(failureCooldown);
    }
    this.failedAt = undefined;
    const ttl = Math.min(cacheTtl * 1000, principal.claims.exp * 1000 - Date.now());
    if (ttl > 0) this.verdicts.set(key, { active, expiresAt: Date.now() + ttl });
    return active;
  }

  /**
   * RFC 7662 §2.2: `active` is a boolean, and only `true` lets the token through; a `client_id` or `sub` that
   * is not the token's (defence in depth: the issuer answered about another token) is not active either.
   */
  private activeIn(body: unknown, principal: OAuthPrincipal): boolean {
    const answer = (typeof body === 'object' && body !== null ? body : {}) as Record<
      string,
      unknown
    >;
    if (Array.isArray(body) || typeof answer.active !== 'boolean') {
      throw new RemoteDocumentError('answered with a body that is not an RFC 7662 §2.2 response');
    }
    if (!answer.active) return false;
    const mismatch = (['client_id', 'sub'] as const).find(
      (member) =>
        answer[member] !== undefined &&
        answer[member] !== (member === 'sub' ? principal.subject : principal.clientId),
    );
    if (mismatch === undefined) return true;
    this.logger.warn(
      `The introspection endpoint ${loggableUrl(this.endpoint)} answered active with a ${mismatch} other than the ` +
        'token’s: the token is refused',
      {
        event: 'oauth2.introspection.mismatch',
        endpoint: loggableUrl(this.endpoint),
        member: mismatch,
      } satisfies OAuth2LogFields,
    );
    return false;
  }

  /** RFC 8414 §2: the issuer's metadata names its introspection endpoint. */
  private async discover(): Promise<string> {
    const metadata = await fetchIssuerMetadata(this.settings, this.fetchFn);
    try {
      return metadataUrl(metadata, 'introspection_endpoint');
    } catch (error) {
      throw new RemoteDocumentError(
        `${(error as Error).message}: set \`introspection.endpoint\`, or have the issuer publish it`,
      );
    }
  }

  private logFailure(error: unknown): void {
    // Without user, password or query (a configured URL may carry them).
    const where = loggableUrl(this.endpoint ?? this.settings.metadataUrl);
    let reason = error instanceof RemoteDocumentError ? error.message : `failed (${String(error)})`;
    if (error instanceof RemoteDocumentError && (error.status === 401 || error.status === 403)) {
      reason +=
        ': the issuer refused this service’s credentials (check `introspection.clientId` ' +
        `${JSON.stringify(this.settings.introspection.clientId)} and its secret, and that it may introspect)`;
    }
    const { failureCooldown } = this.settings.introspection;
    this.logger.error(
      `Cannot introspect a token at ${where}: ${reason}; tokens not in the cache are answered 503 for ` +
        `${failureCooldown} s`,
      {
        event: 'oauth2.introspection.failed',
        endpoint: where,
        reason,
        cooldownSeconds: failureCooldown,
      } satisfies OAuth2LogFields,
    );
  }
}
