import { SCOPE_PATTERN } from '../http/scope.js';
import { JWKS_FETCH_DEFAULTS } from '../keys/jwks-cache.js';
import { JWKS_ALGORITHMS } from '../keys/jwks-document.js';
import type { OAuth2GuardOptions } from '../resource/oauth2-guard-options.js';
import type {
  OAuth2IntrospectionOptions,
  OAuth2ResourceMetadataOptions,
  OAuth2ResourceServerAlgorithm,
  OAuth2ResourceServerOptions,
} from './oauth2-resource-server-options.interface.js';
import {
  accessTokenCacheSize,
  type OAuth2AccessTokenCacheOptions,
} from '../state/verified-token.cache.js';
import {
  AUTHORIZATION_SERVER_METADATA,
  PROTECTED_RESOURCE_METADATA,
  wellKnownUrl,
} from './well-known.js';

/** The default order: RFC 9068's mandatory RS256 first, then the cheaper or more common ones. */
export const RESOURCE_SERVER_ALGORITHMS: readonly OAuth2ResourceServerAlgorithm[] = JWKS_ALGORITHMS;
const DEFAULT_REALM = 'Service';
/** A quoted-string value of a challenge must not hold `"` or `\` (RFC 9110 §11.2, RFC 6750 §3). */
const QUOTABLE = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The RFC 9728 §2 protected resource metadata document, as served. */
export interface OAuth2ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  bearer_methods_supported: string[];
  scopes_supported?: string[];
  resource_name?: string;
  resource_documentation?: string;
}

/** The introspection options in force: every default applied. */
export interface OAuth2IntrospectionSettings {
  /** The configured endpoint; undefined when it is read from the issuer's metadata. */
  endpoint: string | undefined;
  clientId: string;
  clientSecret: string;
  cacheTtl: number;
  cacheMaxEntries: number;
  failureCooldown: number;
}

/**
 * The options of `OAuth2ResourceServerModule`, checked and completed once at start-up, so a misconfiguration
 * fails the boot with a clear message. It is the `OAuth2GuardOptions` of the module's guard; inject it (in an
 * `OAuth2Guard` subclass, say) to read the settings in force.
 */
export class OAuth2ResourceServerConfig implements OAuth2GuardOptions {
  readonly issuer: string;
  readonly audience: readonly string[];
  /** The configured JWKS URL; undefined when it is discovered from `metadataUrl`. */
  readonly jwksUri: string | undefined;
  /** The issuer's RFC 8414 metadata URL, read when no `jwksUri` is configured. */
  readonly metadataUrl: string | undefined;
  readonly algorithms: readonly OAuth2ResourceServerAlgorithm[];
  readonly clockTolerance: number;
  readonly accessTokenCache: Readonly<Required<OAuth2AccessTokenCacheOptions>>;
  readonly realm: string;
  readonly allowAccessTokenInBody: boolean;
  readonly jwksCacheMinSeconds: number;
  readonly jwksCacheMaxSeconds: number;
  readonly jwksCooldown: number;
  readonly fetchTimeoutMs: number;
  readonly maxJwksBytes: number;
  /** RFC 7662 introspection after the local checks; undefined when off. */
  readonly introspection: Readonly<OAuth2IntrospectionSettings> | undefined;
  /** The RFC 9728 document, when configured. */
  readonly resourceMetadata: Readonly<OAuth2ProtectedResourceMetadata> | undefined;
  /** Its URL (RFC 9728 §3.1), named in the guard's challenges; URL-encoded, so it needs no quoting. */
  readonly resourceMetadataUrl: string | undefined;

  constructor(options: OAuth2ResourceServerOptions) {
    if (!options || typeof options.issuer !== 'string' || options.issuer.trim() === '') {
      throw configError('`issuer` is required');
    }
    this.issuer = options.issuer;
    const audience: unknown = options.audience;
    this.audience = Array.isArray(audience) ? [...audience] : [audience];
    if (
      this.audience.length === 0 ||
      this.audience.some((a) => typeof a !== 'string' || a === '')
    ) {
      throw configError(
        '`audience` is required: this service’s identifier, a non-empty string or list of strings',
      );
    }
    this.jwksUri =
      options.jwksUri === undefined ? undefined : httpUrl(options.jwksUri, '`jwksUri`');
    this.metadataUrl = this.jwksUri === undefined ? metadataUrlOf(this.issuer) : undefined;
    this.algorithms = algorithms(options.algorithms ?? RESOURCE_SERVER_ALGORITHMS);
    this.clockTolerance = whole(options.clockTolerance ?? 0, '`clockTolerance`', 0);
    this.accessTokenCache = {
      maxEntries: accessTokenCacheSize(options.accessTokenCache, configError),
    };
    this.realm = options.realm ?? DEFAULT_REALM;
    if (typeof this.realm !== 'string' || !QUOTABLE.test(this.realm)) {
      throw configError('`realm` must be printable ASCII without `"` or `\\`');
    }
    this.allowAccessTokenInBody = options.allowAccessTokenInBody ?? false;
    this.jwksCacheMinSeconds = whole(
      options.jwksCacheMinSeconds ?? JWKS_FETCH_DEFAULTS.jwksCacheMinSeconds,
      '`jwksCacheMinSeconds`',
      0,
    );
    this.jwksCacheMaxSeconds = whole(
      options.jwksCacheMaxSeconds ?? JWKS_FETCH_DEFAULTS.jwksCacheMaxSeconds,
      '`jwksCacheMaxSeconds`',
      this.jwksCacheMinSeconds,
    );
    this.jwksCooldown = whole(
      options.jwksCooldown ?? JWKS_FETCH_DEFAULTS.jwksCooldown,
      '`jwksCooldown`',
      1,
    );
    this.fetchTimeoutMs = whole(
      options.fetchTimeoutMs ?? JWKS_FETCH_DEFAULTS.fetchTimeoutMs,
      '`fetchTimeoutMs`',
      1,
      MAX_TIMER_MS,
    );
    this.maxJwksBytes = whole(
      options.maxJwksBytes ?? JWKS_FETCH_DEFAULTS.maxJwksBytes,
      '`maxJwksBytes`',
      1024,
    );
    this.introspection =
      options.introspection === undefined
        ? undefined
        : introspectionSettings(options.introspection, this.metadataUrl);
    this.resourceMetadata =
      options.resourceMetadata === undefined
        ? undefined
        : this.metadataDocument(options.resourceMetadata);
    this.resourceMetadataUrl =
      this.resourceMetadata === undefined
        ? undefined
        : wellKnownUrl(this.resourceMetadata.resource, PROTECTED_RESOURCE_METADATA);
  }

  /** RFC 9728 §2: the document this resource serves; the issuer is its one authorization server. */
  private metadataDocument(
    options: OAuth2ResourceMetadataOptions,
  ): OAuth2ProtectedResourceMetadata {
    const resource = httpUrl(options?.resource, '`resourceMetadata.resource`');
    if (resource.includes('#')) {
      throw configError('`resourceMetadata.resource` must have no fragment (RFC 9728 §1.2)');
    }
    const document: OAuth2ProtectedResourceMetadata = {
      resource,
      authorization_servers: [this.issuer],
      bearer_methods_supported: this.allowAccessTokenInBody ? ['header', 'body'] : ['header'],
    };
    const { scopesSupported, resourceName, resourceDocumentation } = options;
    if (scopesSupported !== undefined) {
      if (
        !Array.isArray(scopesSupported) ||
        !scopesSupported.every(
          (s) => typeof s === 'string' && SCOPE_PATTERN.test(s) && !s.includes(' '),
        )
      ) {
        throw configError(
          '`resourceMetadata.scopesSupported` must be a list of RFC 6749 §3.3 scope tokens',
        );
      }
      document.scopes_supported = [...scopesSupported];
    }
    if (resourceName !== undefined) {
      if (typeof resourceName !== 'string' || resourceName === '') {
        throw configError('`resourceMetadata.resourceName` must be a non-empty string');
      }
      document.resource_name = resourceName;
    }
    if (resourceDocumentation !== undefined) {
      document.resource_documentation = httpUrl(
        resourceDocumentation,
        '`resourceMetadata.resourceDocumentation`',
      );
    }
    return document;
  }
}

function introspectionSettings(
  options: OAuth2IntrospectionOptions,
  metadataUrl: string | undefined,
): OAuth2IntrospectionSettings {
  const { clientId, clientSecret } = options ?? {};
  if (typeof clientId !== 'string' || clientId === '') {
    throw configError(
      '`introspection.clientId` is required: this service’s client id at the issuer',
    );
  }
  if (typeof clientSecret !== 'string' || clientSecret === '') {
    throw configError('`introspection.clientSecret` is required: a non-empty string');
  }
  if (options.endpoint === undefined && metadataUrl === undefined) {
    throw configError(
      '`introspection.endpoint` is required with `jwksUri`: the issuer’s metadata, which names it, is not read',
    );
  }
  return {
    endpoint:
      options.endpoint === undefined
        ? undefined
        : httpUrl(options.endpoint, '`introspection.endpoint`'),
    clientId,
    clientSecret,
    cacheTtl: whole(options.cacheTtl ?? 30, '`introspection.cacheTtl`', 0),
    // lru-cache takes max 0 for "unbounded".
    cacheMaxEntries: whole(options.cacheMaxEntries ?? 10_000, '`introspection.cacheMaxEntries`', 1),
    failureCooldown: whole(options.failureCooldown ?? 5, '`introspection.failureCooldown`', 1),
  };
}

function configError(problem: string): Error {
  return new Error(`OAuth2ResourceServerModule: ${problem}`);
}

/** RFC 8414 §2: the issuer is a URL without query or fragment, from which §3.1 derives the metadata URL. */
function metadataUrlOf(issuer: string): string {
  const url = httpUrl(issuer, '`issuer`');
  if (url.includes('?') || url.includes('#')) {
    throw configError('`issuer` must have no query or fragment (RFC 8414 §2)');
  }
  return wellKnownUrl(issuer, AUTHORIZATION_SERVER_METADATA);
}

/** The value, which must be an absolute http(s) URL; returned as given. */
function httpUrl(value: unknown, name: string): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw configError(`${name} must be an absolute https:// (or http://) URL`);
  }
  return value as string;
}

function whole(value: number, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw configError(
      max === Number.MAX_SAFE_INTEGER
        ? `${name} must be a whole number of at least ${min}`
        : `${name} must be a whole number from ${min} to ${max}`,
    );
  }
  return value;
}

function algorithms(
  given: readonly OAuth2ResourceServerAlgorithm[],
): OAuth2ResourceServerAlgorithm[] {
  if (!Array.isArray(given) || given.length === 0) {
    throw configError('`algorithms` must be a non-empty list');
  }
  for (const algorithm of given as readonly string[]) {
    if (/^HS\d+$/i.test(algorithm)) {
      throw configError(
        `\`algorithms\`: ${algorithm} is an HMAC algorithm, whose secret no JWK Set publishes: ` +
          'this module verifies asymmetric signatures only (sign with RS256, ES256, …)',
      );
    }
    if (!(RESOURCE_SERVER_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw configError(
        `\`algorithms\`: ${String(algorithm)} is not one of ${RESOURCE_SERVER_ALGORITHMS.join(', ')}`,
      );
    }
  }
  return [...new Set(given)];
}
