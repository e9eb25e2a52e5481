import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import type { OAuthClient } from '../clients/oauth-client.entity.js';
import type { FetchFunction } from '../keys/bounded-fetch.js';
import { JWKS_FETCH_DEFAULTS, JwksCache } from '../keys/jwks-cache.js';
import { readJwks, type JwksAlgorithm } from '../keys/jwks-document.js';
import type { OAuth2LogFields } from '../observability/log-fields.js';

/** The algorithms a client may sign its assertions with: asymmetric only, never `none` or HS* (RFC 7518). */
export const CLIENT_ASSERTION_ALGORITHMS: readonly JwksAlgorithm[] = ['RS256', 'PS256', 'ES256'];
/** Parsed inline key sets and `jwks_uri` caches kept at most; the least recently used go first. */
const MAX_KEY_SETS = 1000;
/** http is for development and tests on this machine only. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** A misconfigured client is logged once an hour, not once per request. */
const WARN_EVERY_MS = 3_600_000;

/**
 * The public keys each `private_key_jwt` client verifies with (RFC 7591 §2): its inline `jwks`, read with the
 * rules of a published JWK Set (public signature keys only; a set holding a private key is refused whole),
 * or its `jwks_uri`, fetched with the same cache, cooldown, timeout and size limits as a resource server's
 * issuer keys, one cache per URL.
 */
export class ClientKeySets {
  private readonly inline = new LRUCache<string, Promise<JWTVerifyGetKey | undefined>>({
    max: MAX_KEY_SETS,
  });
  private readonly remote = new LRUCache<string, JwksCache>({ max: MAX_KEY_SETS });
  private readonly warned = new LRUCache<string, true>({ max: MAX_KEY_SETS, ttl: WARN_EVERY_MS });
  /** A client's unreachable `jwks_uri` is its own problem, not the server's: a warning (same fields). */
  private readonly cacheLogger: Pick<Logger, 'warn' | 'error'> = {
    warn: (message: string, ...fields: unknown[]) => this.logger.warn(message, ...fields),
    error: (message: string, ...fields: unknown[]) => this.logger.warn(message, ...fields),
  };

  constructor(
    private readonly fetchFn: FetchFunction = fetch,
    private readonly logger: Pick<Logger, 'warn'> = new Logger('OAuth2'),
  ) {}

  /**
   * A jose key resolver over the client's keys, or undefined when it has none usable (logged). The resolver
   * throws jose's JWKS errors, or JwksUnavailableError while its `jwks_uri` cannot be read.
   */
  async keysOf(client: OAuthClient): Promise<JWTVerifyGetKey | undefined> {
    const { clientId } = client;
    if (client.jwks !== null && client.jwksUri !== null) {
      // RFC 7591 §2: the two must not both be present; which one the client meant cannot be told.
      return this.unusable(clientId, 'it has both jwks and jwks_uri');
    }
    if (client.jwks !== null) return this.inlineKeys(client.jwks, clientId);
    if (client.jwksUri !== null) return this.remoteKeys(client.jwksUri, clientId);
    return this.unusable(clientId, 'it uses private_key_jwt but has neither jwks nor jwks_uri');
  }

  /** Read once per distinct set (by digest: a set may be 64 KiB), then shared. */
  private inlineKeys(jwks: string, clientId: string): Promise<JWTVerifyGetKey | undefined> {
    const digest = createHash('sha256').update(jwks).digest('base64url');
    let keySet = this.inline.get(digest);
    if (keySet === undefined) {
      keySet = this.readInline(jwks, clientId);
      this.inline.set(digest, keySet);
    }
    return keySet;
  }

  private async readInline(jwks: string, clientId: string): Promise<JWTVerifyGetKey | undefined> {
    let document: unknown;
    try {
      document = JSON.parse(jwks);
    } catch {
      return this.unusable(clientId, 'its jwks is not JSON');
    }
    try {
      const { keys, ignored } = await readJwks(document, CLIENT_ASSERTION_ALGORITHMS);
      for (const reason of ignored) {
        this.logger.warn(`${nameOf(clientId)}: in its jwks, ${reason}; it is ignored`, {
          event: 'oauth2.client_keys.key_ignored',
          clientId,
          reason,
        } satisfies OAuth2LogFields);
      }
      return createLocalJWKSet({ keys });
    } catch (error) {
      // readJwks says why without quoting the document: no key material reaches the log.
      return this.unusable(clientId, `its jwks cannot be used (${(error as Error).message})`);
    }
  }

  private remoteKeys(jwksUri: string, clientId: string): JWTVerifyGetKey | undefined {
    const url = fetchableUrl(jwksUri);
    if (url === undefined) {
      return this.unusable(
        clientId,
        'its jwks_uri is not an https URL (http is for loopback hosts only)',
      );
    }
    let cache = this.remote.get(url);
    if (cache === undefined) {
      cache = new JwksCache(
        {
          ...JWKS_FETCH_DEFAULTS,
          issuer: 'a private_key_jwt client',
          jwksUri: url,
          metadataUrl: undefined,
          algorithms: CLIENT_ASSERTION_ALGORITHMS,
          refusalWhileDown: 'its assertions are refused (401 invalid_client)',
        },
        this.fetchFn,
        this.cacheLogger,
      );
      this.remote.set(url, cache);
    }
    return cache.resolve;
  }

  private unusable(clientId: string, reason: string): undefined {
    const problem = `${nameOf(clientId)}: ${reason}`;
    if (!this.warned.has(problem)) {
      this.warned.set(problem, true);
      this.logger.warn(`${problem}; its assertions are refused`, {
        event: 'oauth2.client_keys.unusable',
        clientId,
        reason,
      } satisfies OAuth2LogFields);
    }
    return undefined;
  }
}

/** A client as log messages name it. */
const nameOf = (clientId: string) => `Client ${JSON.stringify(clientId)}`;

/** The URL, normalised, when it may be fetched: https, or http on a loopback host; no user info. */
function fetchableUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.username !== '' || url.password !== '') return undefined;
  const secure =
    url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
  return secure ? url.href : undefined;
}
