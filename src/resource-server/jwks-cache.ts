import { Logger } from '@nestjs/common';
import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type CompactJWSHeaderParameters,
  type JWTVerifyGetKey,
} from 'jose';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { fetchJson, RemoteDocumentError, type FetchFunction } from './bounded-fetch.js';
import { readJwks } from './jwks-document.js';
import type { OAuth2ResourceServerConfig } from './oauth2-resource-server-config.js';

type VerificationKey = Awaited<ReturnType<JWTVerifyGetKey>>;

/** What the cache reads of the configuration. */
export type JwksCacheSettings = Pick<
  OAuth2ResourceServerConfig,
  | 'issuer'
  | 'jwksUri'
  | 'metadataUrl'
  | 'algorithms'
  | 'jwksCacheMinSeconds'
  | 'jwksCacheMaxSeconds'
  | 'jwksCooldown'
  | 'fetchTimeoutMs'
  | 'maxJwksBytes'
>;

/**
 * The issuer's public keys, fetched lazily and kept as its JWKS response's `Cache-Control: max-age` says,
 * within the configured bounds. The rules that let it survive an issuer that is down, slow or hostile:
 *
 * - at most one fetch per `jwksCooldown`, whatever triggers it (expiry, a token with an unknown `kid`, a
 *   failed attempt), and one at a time: a stream of made-up key ids cannot make it hammer the issuer;
 * - a failed fetch keeps the keys already held: tokens signed with them keep passing while the issuer is down;
 * - no key for a token because the issuer could not be read → 503 with Retry-After, not 401: the token may
 *   well be good;
 * - nothing is fetched at start-up: a service never waits for its issuer to boot.
 */
export class JwksCache {
  private keySet: JWTVerifyGetKey | undefined;
  private expiresAt = 0;
  private lastAttemptAt: number | undefined;
  private lastAttemptFailed = false;
  private pending: Promise<void> | undefined;
  private discoveredJwksUri: string | undefined;

  constructor(
    private readonly settings: JwksCacheSettings,
    private readonly fetchFn: FetchFunction = fetch,
    private readonly logger: Pick<Logger, 'warn' | 'error'> = new Logger('OAuth2ResourceServer'),
  ) {}

  /** A jose key resolver: the key for a token's header, or an OAuth2Error (401 invalid_token or 503). */
  readonly resolve = async (
    header: CompactJWSHeaderParameters,
    token: FlattenedJWSInput,
  ): Promise<VerificationKey> => {
    if (header.kid !== undefined && typeof header.kid !== 'string') throw invalidAccessToken();
    if (this.keySet === undefined || Date.now() >= this.expiresAt) await this.refresh();
    const found = await this.lookUp(header, token);
    if (found !== undefined) return found;
    // A key id we do not hold: the issuer may have rotated its keys since the last fetch.
    await this.refresh();
    return (await this.lookUp(header, token)) ?? this.refuse();
  };

  private async lookUp(
    header: CompactJWSHeaderParameters,
    token: FlattenedJWSInput,
  ): Promise<VerificationKey | undefined> {
    if (this.keySet === undefined) return undefined;
    try {
      return await this.keySet(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) return undefined;
      // Several keys fit a token without kid, or the alg is not for a JWK Set: not a key we can choose.
      throw invalidAccessToken();
    }
  }

  /** No key for the token: the issuer does not have it (401), or could not be asked (503). */
  private refuse(): never {
    if (!this.lastAttemptFailed) throw invalidAccessToken();
    const cooldownMs = this.settings.jwksCooldown * 1000;
    const wait = (this.lastAttemptAt ?? 0) + cooldownMs - Date.now();
    throw OAuth2Error.temporarilyUnavailable(Math.max(1, Math.ceil(wait / 1000)));
  }

  /** Fetches the keys unless a fetch runs (then joins it) or the cooldown forbids one. */
  private async refresh(): Promise<void> {
    if (this.pending !== undefined) return this.pending;
    const since = this.lastAttemptAt === undefined ? Infinity : Date.now() - this.lastAttemptAt;
    if (since < this.settings.jwksCooldown * 1000) return;
    this.lastAttemptAt = Date.now();
    this.pending = this.fetchKeys().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchKeys(): Promise<void> {
    const { jwksCacheMinSeconds: min, jwksCacheMaxSeconds: max, jwksCooldown } = this.settings;
    let where = this.settings.jwksUri ?? this.discoveredJwksUri ?? this.settings.metadataUrl;
    try {
      const jwksUri = this.settings.jwksUri ?? (this.discoveredJwksUri ??= await this.discover());
      where = jwksUri;
      const { body, maxAge } = await fetchJson(jwksUri, this.limits(), this.fetchFn);
      const { keys, ignored } = await readJwks(body, this.settings.algorithms);
      for (const reason of ignored) {
        this.logger.warn(`The JWK Set at ${jwksUri}: ${reason}; it is ignored`);
      }
      this.keySet = createLocalJWKSet({ keys });
      this.expiresAt = Date.now() + Math.min(max, Math.max(min, maxAge ?? min)) * 1000;
      this.lastAttemptFailed = false;
    } catch (error) {
      this.lastAttemptFailed = true;
      const reason =
        error instanceof RemoteDocumentError ? error.message : `failed (${String(error)})`;
      const consequence =
        this.keySet === undefined
          ? `tokens are answered 503 until the keys can be fetched (next attempt in ${jwksCooldown} s at the earliest)`
          : 'the keys fetched before stay in use';
      this.logger.error(
        `Cannot fetch the keys of ${this.settings.issuer}: ${where} ${reason}; ${consequence}`,
      );
    }
  }

  /** RFC 8414 §3: the issuer's metadata names its JWK Set; §3.3: the metadata's issuer must be ours. */
  private async discover(): Promise<string> {
    const url = this.settings.metadataUrl as string;
    const { body } = await fetchJson(url, this.limits(), this.fetchFn);
    const metadata = (typeof body === 'object' && body !== null ? body : {}) as {
      issuer?: unknown;
      jwks_uri?: unknown;
    };
    if (metadata.issuer !== this.settings.issuer) {
      throw new RemoteDocumentError(
        `names the issuer ${JSON.stringify(metadata.issuer)?.slice(0, 200)}, not the configured ` +
          `${JSON.stringify(this.settings.issuer)} (RFC 8414 §3.3)`,
      );
    }
    let jwksUri: URL | undefined;
    try {
      jwksUri = new URL(metadata.jwks_uri as string);
    } catch {
      jwksUri = undefined;
    }
    if (typeof metadata.jwks_uri !== 'string' || !/^https?:$/.test(jwksUri?.protocol ?? '')) {
      throw new RemoteDocumentError('has no http(s) jwks_uri');
    }
    // Normalised by the URL parser: no white space of the document reaches a log line.
    return (jwksUri as URL).href;
  }

  private limits() {
    return { timeoutMs: this.settings.fetchTimeoutMs, maxBytes: this.settings.maxJwksBytes };
  }
}

/** The one refusal of a token that is not ours, whatever is wrong with it. */
export function invalidAccessToken(): OAuth2Error {
  return OAuth2Error.invalidToken('The access token is invalid');
}
