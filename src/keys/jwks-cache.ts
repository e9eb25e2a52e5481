import { Logger } from '@nestjs/common';
import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type CompactJWSHeaderParameters,
  type JWTVerifyGetKey,
} from 'jose';
import { KeyObject } from 'node:crypto';
import { OAuth2Metrics } from '../observability/metrics.js';
import { fetchJson, limitsOf, RemoteDocumentError, type FetchFunction } from './bounded-fetch.js';
import { fetchIssuerMetadata, metadataUrl } from './issuer-metadata.js';
import { loggableUrl } from '../observability/startup-log.js';
import type { OAuth2LogFields } from '../observability/log-fields.js';
import { readJwks, type JwksAlgorithm } from './jwks-document.js';

type VerificationKey = Awaited<ReturnType<JWTVerifyGetKey>>;

/** One fetched JWK Set: jose's selection over it, and the keys `verificationKey()` handed out from it. */
interface KeySetGeneration {
  readonly keySet: JWTVerifyGetKey;
  /** By the key jose selected (and by the KeyObject handed out), the object handed out. */
  readonly handedOut: WeakMap<object, JwksVerificationKey>;
  /** The same, by algorithm and public JWK: what the next fetch hands out again for a key it brings back. */
  readonly byIdentity: Map<string, JwksVerificationKey>;
  /** The previous fetch's `byIdentity`. */
  readonly previous: ReadonlyMap<string, JwksVerificationKey> | undefined;
}

/** A key of the JWK Set as a Node `KeyObject`, with the one algorithm a token's header chose it for. */
export interface JwksVerificationKey {
  readonly algorithm: string;
  readonly verificationKey: KeyObject;
}

/**
 * The bounds a JWK Set is fetched within: a resource server's defaults, and those of every client's `jwks_uri`.
 */
export const JWKS_FETCH_DEFAULTS = {
  jwksCacheMinSeconds: 60,
  jwksCacheMaxSeconds: 3600,
  // A cooldown of 0 would let a stream of tokens with made-up key ids refetch the keys on every request.
  jwksCooldown: 30,
  fetchTimeoutMs: 5000,
  maxJwksBytes: 64 * 1024,
} as const;

/** What the cache needs to know: where the keys are, which algorithms they serve, and its bounds. */
export interface JwksCacheSettings {
  /** Whose keys these are, for the log; with `metadataUrl`, the issuer its metadata must name. */
  issuer: string;
  /** The JWK Set's URL; undefined to discover it from `metadataUrl`. */
  jwksUri: string | undefined;
  /** RFC 8414 metadata naming the JWK Set, read when `jwksUri` is undefined. */
  metadataUrl: string | undefined;
  algorithms: readonly JwksAlgorithm[];
  jwksCacheMinSeconds: number;
  jwksCacheMaxSeconds: number;
  jwksCooldown: number;
  fetchTimeoutMs: number;
  maxJwksBytes: number;
  /** What requests get while no key could be fetched, for the log. @default 'tokens are answered 503' */
  refusalWhileDown?: string;
}

/**
 * No key for a token because the keys could not be fetched: the token may well be good, so this is the
 * caller's to answer (a resource server says 503 and when to retry).
 */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';

  constructor(
    /** Seconds until the next fetch may be tried. */
    readonly retryAfter: number,
  ) {
    super('The keys could not be fetched');
  }
}

/**
 * The issuer's public keys, fetched lazily and kept as its JWKS response's `Cache-Control: max-age` says,
 * within the configured bounds. The rules that let it survive an issuer that is down, slow or hostile:
 *
 * - at most one fetch per `jwksCooldown`, whatever triggers it (expiry, a token with an unknown `kid`, a
 *   failed attempt), and one at a time: a stream of made-up key ids cannot make it hammer the issuer;
 * - a failed fetch keeps the keys already held: tokens signed with them keep passing while the issuer is down;
 * - no key for a token because the issuer could not be read → JwksUnavailableError (a resource server's 503
 *   with Retry-After), not the JWKSNoMatchingKey of a key the issuer does not have;
 * - nothing is fetched at start-up: a service never waits for its issuer to boot.
 *
 * Refusals are jose's errors (JWKSNoMatchingKey; JWKSMultipleMatchingKeys, whose candidates a caller may
 * try one by one) or JwksUnavailableError: the caller decides what they mean to its own clients.
 */
export class JwksCache {
  private generation: KeySetGeneration | undefined;
  private expiresAt = 0;
  private lastAttemptAt: number | undefined;
  private lastAttemptFailed = false;
  private pending: Promise<void> | undefined;
  private discoveredJwksUri: string | undefined;

  constructor(
    private readonly settings: JwksCacheSettings,
    private readonly fetchFn: FetchFunction = fetch,
    private readonly logger: Pick<Logger, 'warn' | 'error'> = new Logger('OAuth2ResourceServer'),
    /** Times each fetch (`oauth2.jwks.fetch.duration`). */
    private readonly metrics: OAuth2Metrics = new OAuth2Metrics(),
  ) {}

  /** A jose key resolver: the key for a token's header, a jose JWKS error, or a JwksUnavailableError. */
  readonly resolve = async (
    header: CompactJWSHeaderParameters,
    token: FlattenedJWSInput,
  ): Promise<VerificationKey> => (await this.select(header, token)).key;

  /**
   * The key for a token's header as a `KeyObject`, chosen by jose's JWK Set selection (`kid`, and a key type and
   * `alg` that fit the header's `alg`), for verifying with @nestjs/jwt. Refuses as `resolve` does. One object per
   * key and algorithm while its set is in force, so a caller may remember what verified a token and ask
   * `holds()` later; a key the next fetch brings back unchanged is the same object again, so what it verified
   * stays verified across fetches.
   */
  async verificationKey(header: CompactJWSHeaderParameters): Promise<JwksVerificationKey> {
    const { key: selected, generation } = await this.select(header, undefined);
    let key = generation.handedOut.get(selected as object);
    if (key === undefined || key.algorithm !== header.alg) {
      const verificationKey =
        selected instanceof KeyObject
          ? selected
          : KeyObject.from(selected as Parameters<typeof KeyObject.from>[0]);
      const identity = `${header.alg} ${JSON.stringify(verificationKey.export({ format: 'jwk' }))}`;
      key = generation.previous?.get(identity) ?? { algorithm: header.alg, verificationKey };
      generation.handedOut.set(selected as object, key);
      generation.handedOut.set(key.verificationKey, key);
      generation.byIdentity.set(identity, key);
    }
    return key;
  }

  /**
   * Whether `key`, handed out by `verificationKey()`, is still one of the keys in force: it came from the set
   * held now, and that set has not passed its max-age (a token it verified is then still verifiable without a
   * fetch). A refetch makes every key new, so a key the issuer removed fails this at once.
   */
  holds(key: JwksVerificationKey): boolean {
    const generation = this.generation;
    return (
      generation !== undefined &&
      Date.now() < this.expiresAt &&
      generation.handedOut.get(key.verificationKey) === key
    );
  }

  private async select(
    header: CompactJWSHeaderParameters,
    token: FlattenedJWSInput | undefined,
  ): Promise<{ key: VerificationKey; generation: KeySetGeneration }> {
    if (header.kid !== undefined && typeof header.kid !== 'string') {
      throw new errors.JWKSNoMatchingKey();
    }
    if (this.generation === undefined || Date.now() >= this.expiresAt) await this.refresh();
    const found = await this.lookUp(header, token);
    if (found !== undefined) return found;
    // A key id we do not hold: the issuer may have rotated its keys since the last fetch.
    await this.refresh();
    return (await this.lookUp(header, token)) ?? this.refuse();
  }

  private async lookUp(
    header: CompactJWSHeaderParameters,
    token: FlattenedJWSInput | undefined,
  ): Promise<{ key: VerificationKey; generation: KeySetGeneration } | undefined> {
    // The set as it is now: a fetch that lands meanwhile does not relabel a key of this one as current.
    const generation = this.generation;
    if (generation === undefined) return undefined;
    try {
      return { key: await generation.keySet(header, token as FlattenedJWSInput), generation };
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) return undefined;
      // Several keys fit a token without kid, or the alg is not for a JWK Set: the caller's to judge.
      throw error;
    }
  }

  /** No key for the token: the issuer does not have it, or could not be asked. */
  private refuse(): never {
    if (!this.lastAttemptFailed) throw new errors.JWKSNoMatchingKey();
    const cooldownMs = this.settings.jwksCooldown * 1000;
    const wait = (this.lastAttemptAt ?? 0) + cooldownMs - Date.now();
    throw new JwksUnavailableError(Math.max(1, Math.ceil(wait / 1000)));
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
    // Logged without user, password or query (a configured URL may carry them).
    let where = loggableUrl(
      this.settings.jwksUri ?? this.discoveredJwksUri ?? this.settings.metadataUrl,
    );
    const started = performance.now();
    try {
      const jwksUri = this.settings.jwksUri ?? (this.discoveredJwksUri ??= await this.discover());
      where = loggableUrl(jwksUri);
      const { body, maxAge } = await fetchJson(jwksUri, limitsOf(this.settings), this.fetchFn);
      const { keys, ignored } = await readJwks(body, this.settings.algorithms);
      for (const reason of ignored) {
        this.logger.warn(`The JWK Set at ${where}: ${reason}; it is ignored`, {
          event: 'oauth2.jwks.key_ignored',
          jwksUri: where,
          reason,
        } satisfies OAuth2LogFields);
      }
      this.generation = {
        keySet: createLocalJWKSet({ keys }),
        handedOut: new WeakMap(),
        byIdentity: new Map(),
        previous: this.generation?.byIdentity,
      };
      this.expiresAt = Date.now() + Math.min(max, Math.max(min, maxAge ?? min)) * 1000;
      this.lastAttemptFailed = false;
      this.metrics.jwksFetch('ok', performance.now() - started);
    } catch (error) {
      this.lastAttemptFailed = true;
      const timedOut = error instanceof RemoteDocumentError && error.timedOut;
      this.metrics.jwksFetch(timedOut ? 'timeout' : 'error', performance.now() - started);
      const reason =
        error instanceof RemoteDocumentError ? error.message : `failed (${String(error)})`;
      const whileDown = this.settings.refusalWhileDown ?? 'tokens are answered 503';
      const consequence =
        this.generation === undefined
          ? `${whileDown} until the keys can be fetched (next attempt in ${jwksCooldown} s at the earliest)`
          : 'the keys fetched before stay in use';
      this.logger.error(
        `Cannot fetch the keys of ${this.settings.issuer}: ${where} ${reason}; ${consequence}`,
        {
          event: 'oauth2.jwks.fetch_failed',
          issuer: this.settings.issuer,
          url: where,
          reason,
          keysInUse: this.generation !== undefined,
        } satisfies OAuth2LogFields,
      );
    }
  }

  /** RFC 8414 §3: the issuer's metadata names its JWK Set. */
  private async discover(): Promise<string> {
    return metadataUrl(await fetchIssuerMetadata(this.settings, this.fetchFn), 'jwks_uri');
  }
}
