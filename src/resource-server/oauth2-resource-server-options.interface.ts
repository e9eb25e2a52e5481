import type { JwksAlgorithm } from '../keys/jwks-document.js';
import type { OAuth2AccessTokenCacheOptions } from '../state/verified-token.cache.js';

/** The signature algorithms a resource server can verify with public keys (RFC 7518 §3.1). */
export type OAuth2ResourceServerAlgorithm = JwksAlgorithm;

/**
 * Options of `OAuth2ResourceServerModule.forRoot()`, or what a `forRootAsync()` factory returns: a service
 * that accepts the access tokens of an issuer by its published keys, with no database and no private key.
 * Durations are in seconds unless their name ends in `Ms`.
 */
export interface OAuth2ResourceServerOptions {
  /** The issuer identifier; a token's `iss` must equal it exactly (RFC 9068 §4). */
  issuer: string;
  /** This service's identifier, or several: a token's `aud` must contain one of them (RFC 9068 §4). */
  audience: string | string[];
  /**
   * Where the issuer publishes its public keys (a JWK Set, RFC 7517 §5).
   * @default the `jwks_uri` of the issuer's RFC 8414 metadata, at
   * `<issuer origin>/.well-known/oauth-authorization-server[<issuer path>]`
   */
  jwksUri?: string;
  /**
   * The signature algorithms accepted; asymmetric only (an HMAC secret cannot be published in a JWK Set).
   * @default ['RS256', 'PS256', 'ES256', 'RS384', 'RS512', 'PS384', 'PS512', 'ES384', 'ES512']
   */
  algorithms?: OAuth2ResourceServerAlgorithm[];
  /** Seconds of clock skew allowed when checking `exp`, `nbf` and `iat`. @default 0 */
  clockTolerance?: number;
  /**
   * The guard's cache of verified access tokens: a token presented again skips the signature and claims
   * checks until its `exp`, while its key is in the JWK Set held (introspection, when on, still runs every
   * time). `{ maxEntries: 0 }` turns it off. @default { maxEntries: 1000 }
   */
  accessTokenCache?: OAuth2AccessTokenCacheOptions;
  /** The realm of `WWW-Authenticate` challenges. @default 'Service' */
  realm?: string;
  /**
   * Let the guard accept `access_token` in a form-encoded POST body (RFC 6750 §2.2). A query-string token
   * (§2.3) is never accepted. @default false
   */
  allowAccessTokenInBody?: boolean;
  /** The least time the keys are kept, whatever the JWKS response's `Cache-Control` says. @default 60 */
  jwksCacheMinSeconds?: number;
  /** The most time the keys are kept before they are fetched again. @default 3600 */
  jwksCacheMaxSeconds?: number;
  /**
   * Seconds between two fetches of the keys: a token signed with an unknown key (`kid`), or an issuer that
   * failed to answer, triggers at most one fetch per this time. @default 30
   */
  jwksCooldown?: number;
  /** How long a fetch of the metadata or the keys, or an introspection call, may take, in milliseconds. @default 5000 */
  fetchTimeoutMs?: number;
  /** The largest metadata, JWKS or introspection response read, in bytes. @default 65536 */
  maxJwksBytes?: number;
  /**
   * Ask the issuer whether each token is still active (RFC 7662 token introspection), after the local checks
   * pass: a revoked token is refused within `cacheTtl` instead of being accepted until its `exp`.
   * @default none: tokens are checked locally only
   */
  introspection?: OAuth2IntrospectionOptions;
  /**
   * Publish RFC 9728 protected resource metadata, and name its URL in the guard's challenges
   * (`resource_metadata`, RFC 9728 §5.1). @default none
   */
  resourceMetadata?: OAuth2ResourceMetadataOptions;
}

/**
 * How the resource server calls the issuer's RFC 7662 introspection endpoint: as a client of the issuer,
 * authenticated with client_secret_basic (RFC 6749 §2.3.1), which the issuer must allow to introspect.
 */
export interface OAuth2IntrospectionOptions {
  /** This service's client id at the issuer. */
  clientId: string;
  /** Its client secret; never logged. */
  clientSecret: string;
  /**
   * The introspection endpoint.
   * @default the `introspection_endpoint` of the issuer's RFC 8414 metadata (required with `jwksUri`)
   */
  endpoint?: string;
  /**
   * Seconds an answer is kept per token (never past the token's `exp`): a revocation reaches this service
   * within this time. 0 asks the issuer on every request. @default 30
   */
  cacheTtl?: number;
  /** The most tokens whose answer is kept; the least recently used go first. @default 10000 */
  cacheMaxEntries?: number;
  /**
   * Seconds after a failed call (issuer unreachable, an error status, a malformed answer) during which tokens
   * not in the cache are answered 503 without a new call: the `Retry-After` of those answers. @default 5
   */
  failureCooldown?: number;
}

/** What the RFC 9728 §2 metadata document says about this resource, besides the issuer and bearer methods. */
export interface OAuth2ResourceMetadataOptions {
  /**
   * The resource identifier: an https (or, for development, http) URL without a fragment. The document's URL
   * is derived from it (RFC 9728 §3.1), e.g. `https://api.example.com/.well-known/oauth-protected-resource`.
   */
  resource: string;
  /** `scopes_supported`: the scopes this resource understands. @default not published */
  scopesSupported?: string[];
  /** `resource_name`: a human-readable name. @default not published */
  resourceName?: string;
  /** `resource_documentation`: a URL of documentation for developers. @default not published */
  resourceDocumentation?: string;
}

/**
 * Module-level settings of forRoot/forRootAsync, fixed before any async factory runs, so they are given next
 * to the options rather than by the factory.
 */
export interface OAuth2ResourceServerExtras {
  /** Register the module globally, so `OAuth2Guard` works in every module. @default false */
  isGlobal?: boolean;
  /**
   * The route of the RFC 9728 metadata document (answered 404 while `resourceMetadata` is unset). For a
   * resource identifier with a path, RFC 9728 §3.1 puts the document at
   * `.well-known/oauth-protected-resource/<path>`: set this to match.
   * @default '.well-known/oauth-protected-resource'
   */
  resourceMetadataPath?: string;
}
