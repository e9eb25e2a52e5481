import type {
  ExistingProvider,
  FactoryProvider,
  ModuleMetadata,
  Type,
  ValueProvider,
} from '@nestjs/common';
import type { OAuth2ClientTableOptions, OAuthClientView } from './clients/oauth-client.entity.js';
import type { OAuthClientRepository } from './clients/oauth-client.repository.js';
import type { OAuth2HttpRequest } from './http/http-request.js';
import type { OAuth2KeyStore } from './keys/key-store.js';
import type { OAuth2SigningOptions } from './keys/signing-options.interface.js';
import type { OAuth2EventSink } from './observability/events.js';
import type { OAuth2AccessTokenCacheOptions } from './state/verified-token.cache.js';

/** What a custom-claims hook is told about the token being issued. */
export interface OAuth2ClaimsContext {
  /** The client, without its secret material. */
  client: OAuthClientView;
  /** The granted scopes (after RFC 6749 §3.3 narrowing). */
  scopes: readonly string[];
}

/** Extra claims to add to an access token; registered claims are ours and cannot be overridden. */
export type OAuth2CustomClaims = (
  context: OAuth2ClaimsContext,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** Options of `OAuth2Module.forRoot()`, or what a `forRootAsync()` factory returns. */
export interface OAuth2ModuleOptions {
  /** The issuer identifier, written to `iss` and required on every token the guard accepts (RFC 9068 §2.2). */
  issuer: string;
  /**
   * The signing keys, fixed by configuration. Required without a `keyStore`, refused with one (the keys then
   * come from the store).
   */
  signing?: OAuth2SigningOptions;
  /**
   * The key encryption key of the TypeORM key store (`keyStore: true`): 32+ random bytes, as a Buffer or as
   * 64+ hex characters or base64 (`openssl rand -hex 32`). It seals every private key the store writes; keep
   * it out of the database. Required with `keyStore: true`, refused without a key store. @default none
   */
  keyEncryptionKey?: string | Buffer;
  /**
   * Former key encryption keys: keys they sealed still open, new keys are sealed with `keyEncryptionKey`.
   * @default none
   */
  previousKeyEncryptionKeys?: Array<string | Buffer>;
  /**
   * Seconds between two reloads of the key store: every instance follows a rotation within this time.
   * With a key store only. @default 60
   */
  keyRefreshInterval?: number;
  /** The `aud` claim; the guard requires one of these values. @default the issuer */
  audience?: string | string[];
  /**
   * Seconds of clock skew the guard allows when it checks `exp`, `nbf` and `iat` (the same option as
   * `OAuth2ResourceServerModule`'s). @default 0
   */
  clockTolerance?: number;
  /**
   * Access token lifetime in seconds (`expires_in`, `exp - iat`) of clients that set none of their own.
   * @default 3600
   */
  accessTokenLifetime?: number;
  /**
   * The longest access token lifetime, in seconds: a client's own `access_token_lifetime` beyond it is cut
   * to it. At least `accessTokenLifetime`. @default 86400, or `accessTokenLifetime` when that is longer
   */
  maxAccessTokenLifetime?: number;
  /**
   * How far ahead, in seconds, a `private_key_jwt` client assertion's `exp` may lie (RFC 7523 §3): a longer
   * one is refused. It also bounds how long the replay store keeps each `jti`. @default 3600
   */
  maxAssertionLifetime?: number;
  /**
   * Accept `client_id` + `client_secret` in the form body (RFC 6749 §2.3.1 allows it; HTTP Basic is the
   * recommended method). @default true
   */
  allowCredentialsInRequestBody?: boolean;
  /**
   * Issue tokens to public clients (stored secret null) identified by `client_id` alone. RFC 6749 §4.4 restricts
   * the client credentials grant to confidential clients, so this is an opt-in for seed compatibility.
   * @default false
   */
  allowPublicClients?: boolean;
  /**
   * Let the guard accept `access_token` in a form-encoded POST body (RFC 6750 §2.2). A query-string token
   * (§2.3) is never accepted. @default false
   */
  allowAccessTokenInBody?: boolean;
  /** The realm of `WWW-Authenticate` challenges. @default 'Service' */
  realm?: string;
  /** Adds claims to every access token. @default none */
  customClaims?: OAuth2CustomClaims;
  /**
   * Accept rows whose client_secret is still plaintext, as the seed (oauth2-server-php, yii2-oauth2-server)
   * stored them: compared in constant time, then rewritten as a hash on the first successful authentication.
   * Off, a plaintext row simply fails authentication. @default false
   */
  legacyPlaintextSecrets?: boolean;
  /**
   * A server-side secret (32+ bytes) keying the digests of generated client secrets; keep it out of the
   * database. The CLI needs the same value (`OAUTH2_SECRET_PEPPER`). @default none
   */
  secretPepper?: string | Buffer;
  /** Former peppers whose digests are still accepted, for rotation. @default none */
  previousSecretPeppers?: Array<string | Buffer>;
  /**
   * How long a client lookup may take, in milliseconds, before the token endpoint answers 503: a database
   * that hangs must not hold requests open. @default 5000
   */
  storageTimeoutMs?: number;
  /**
   * Client authentication methods of your own, beside the built-in `client_secret_basic`,
   * `client_secret_post` and `none`: each a Passport strategy you register, which resolves to the
   * authenticated `OAuthClient`. @default none
   */
  clientAuthMethods?: OAuth2ClientAuthMethod[];
  /**
   * Seconds clients and resource servers may cache the RFC 8414 metadata and the JWKS
   * (`Cache-Control: public, max-age`). A `next` key must be published this long before it is activated.
   * @default 300
   */
  jwksMaxAge?: number;
  /** The scopes listed as `scopes_supported` in the RFC 8414 metadata. @default none listed */
  scopesSupported?: string[];
  /** The client lookup cache in front of the repository. */
  clientCache?: OAuth2ClientCacheOptions;
  /**
   * OAuth2Guard's cache of verified access tokens: a token presented again skips the signature and claims
   * checks until its `exp`, while its key is in force; revocation is checked every time.
   * `{ maxEntries: 0 }` turns it off. @default { maxEntries: 1000 }
   */
  accessTokenCache?: OAuth2AccessTokenCacheOptions;
  /**
   * Throttling of failed client authentication per (client id, remote address) and per client id: increasing
   * delays, then 429 with Retry-After. `false` turns it off (put your own limiter in front then).
   */
  clientAuthThrottle?: OAuth2ClientAuthThrottleOptions | false;
  /**
   * The shortest secret a person may choose (the CLI's `--secret`, `ClientSecretHasher.hash()`); generated
   * secrets are 43 characters. Legacy secrets being imported or upgraded are exempt. @default 20
   */
  minSecretLength?: number;
  /** How secrets hashed with a KDF (chosen, not generated) are verified. */
  secretVerification?: OAuth2SecretVerificationOptions;
  /**
   * Where the state several instances must share lives: failed-authentication counts, accepted client
   * assertions (replay), revocations, and the change feed that evicts cached clients and reloads keys. Without
   * it, each instance keeps its own in memory (right for one instance). @default in memory
   */
  store?: OAuth2StoreOptions;
  /**
   * Who may call the introspection endpoint (RFC 7662 §2.1: the caller must be authorized), given the
   * authenticated client. @default clients whose own record's `scope` holds `introspect`
   */
  introspectionAccess?: (client: OAuthClientView) => boolean;
}

/** The shared store of every instance. */
export interface OAuth2StoreOptions {
  /** Redis (ioredis, an optional peer dependency: `npm install ioredis`). */
  redis: OAuth2RedisOptions;
}

export interface OAuth2RedisOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). The password never appears in a log. */
  url: string;
  /** Prefix of every key and channel, so several issuers can share one Redis. @default 'oauth2:' */
  keyPrefix?: string;
  /**
   * Milliseconds a Redis command may take before it counts as failed and the documented fallback applies (a
   * hung Redis must not hold token requests open). @default 500
   */
  commandTimeoutMs?: number;
}

export interface OAuth2ClientCacheOptions {
  /**
   * Seconds a looked-up client (or an unknown id) is kept; 0 turns the cache off. The module's own writes
   * evict at once; a change made elsewhere (the CLI) shows within this time. @default 5
   */
  ttl?: number;
  /** Clients kept at most. @default 10000 */
  max?: number;
}

export interface OAuth2ClientAuthThrottleOptions {
  /** Seconds a failure is counted (each key's window starts at its first failure). @default 900 */
  window?: number;
  /** Failures one address may have for one client id before its attempts are delayed. @default 5 */
  freeFailures?: number;
  /** Failures after which that address gets 429 for that client id until its window ends. @default 20 */
  maxFailures?: number;
  /** The longest delay, in milliseconds (delays start at 250 ms and double). @default 5000 */
  maxDelayMs?: number;
  /**
   * Failures for one client id from all addresses together after which every address that has failed for it
   * too gets 429 (a distributed attack); an address without failures is never refused. @default 1000
   */
  maxFailuresPerClient?: number;
}

export interface OAuth2SecretVerificationOptions {
  /**
   * Seconds a successful KDF verification is remembered (keyed by a digest of client id, presented secret and
   * stored hash, so a rotated secret never matches); 0 turns it off. A client asks for a token about once per
   * token lifetime, so a shorter cache would make almost every real request pay the KDF.
   * @default 2 × maxAccessTokenLifetime
   */
  cacheTtl?: number;
  /** Verified credentials remembered at most. @default 10000 */
  cacheMax?: number;
  /**
   * KDF verifications running at once. scrypt runs on libuv's thread pool, but on the same cores as the event
   * loop, which must keep one. @default min(4, max(1, cores - 1))
   */
  maxConcurrentKdf?: number;
  /**
   * KDF verifications waiting for a slot. Past it, a token request is shed at once with 503 and
   * Retry-After instead of queueing behind a flood of wrong secrets. One client id may hold at most a quarter
   * of the slots, so a flood against one client does not lock out the others. @default 32
   */
  maxQueuedKdf?: number;
}

/**
 * A client authentication method of your own (a client certificate checked by a TLS-terminating proxy, say):
 * the guard of the token endpoint picks it when a request carries its credentials.
 */
export interface OAuth2ClientAuthMethod {
  /** Its RFC 7591 §2 `token_endpoint_auth_method` name, e.g. `'tls_client_auth'`. */
  name: string;
  /**
   * The name your Passport strategy is registered under (`PassportStrategy(Strategy, name)`); its `validate()`
   * resolves to the authenticated `OAuthClient`, or throws `OAuth2Error.invalidClient()`.
   */
  strategy: string;
  /**
   * Whether the request carries this method's credentials. A request that carries those of two methods is
   * refused (RFC 6749 §2.3), so test only what is this method's own (a header, a body parameter).
   */
  isPresentIn(request: OAuth2HttpRequest): boolean;
  /**
   * The client id the request presents, read without checking anything, so failed attempts are throttled
   * per client id and address. Without it, failures of this method are not throttled. @default none
   */
  clientIdOf?(request: OAuth2HttpRequest): string | undefined;
}

/** A service of the module replaced by your own: a class, or a provider without `provide`. */
export type OAuth2ProviderOf<T> =
  | Type<T>
  | Omit<FactoryProvider<T>, 'provide'>
  | Omit<ValueProvider<T>, 'provide'>
  | Omit<ExistingProvider<T>, 'provide'>;

/** A replacement for the client storage: a class, or a provider without `provide`. */
export type OAuth2ClientRepositoryProvider = OAuth2ProviderOf<OAuthClientRepository>;

/** A key store of your own: a class, or a provider without `provide`. */
export type OAuth2KeyStoreProvider = OAuth2ProviderOf<OAuth2KeyStore>;

/** Where audit events go instead of the default sink (a log line each, and EventEmitter2 when registered). */
export type OAuth2EventSinkProvider = OAuth2ProviderOf<OAuth2EventSink>;

/**
 * Module-level settings of forRoot/forRootAsync. They shape routes, imports and providers, which Nest fixes
 * before any async factory runs, so they are given next to the options rather than by the factory.
 */
export interface OAuth2ModuleExtras extends OAuth2ClientTableOptions {
  /** Path of the token endpoint. @default 'oauth2/token' */
  tokenPath?: string;
  /** Path of the JWK Set (RFC 7517), the `jwks_uri` of the metadata. @default 'oauth2/jwks' */
  jwksPath?: string;
  /** Serve token revocation (RFC 7009) at this path, e.g. `'oauth2/revoke'`. @default not served */
  revocationPath?: string;
  /** Serve token introspection (RFC 7662) at this path, e.g. `'oauth2/introspect'`. @default not served */
  introspectionPath?: string;
  /**
   * Client storage. Given, the module imports no TypeORM feature module and needs no DataSource.
   * @default the TypeORM `OAuthClient` repository
   */
  clientRepository?: OAuth2ClientRepositoryProvider;
  /**
   * Signing keys from a key store instead of `signing`: `true` for the TypeORM store (table
   * `oauth_signing_keys`, with `tablePrefix`, in the module's DataSource; needs `keyEncryptionKey`), or your
   * own `OAuth2KeyStore`. The keys load at start-up and reload every `keyRefreshInterval`. @default none
   */
  keyStore?: true | OAuth2KeyStoreProvider;
  /** Name of the TypeORM DataSource holding `oauth_clients`. @default the default DataSource */
  dataSource?: string;
  /**
   * Where audit events go (README "Audit events"). @default one structured log line each through Nest's
   * Logger, and the host app's EventEmitter2 when it registers EventEmitterModule
   */
  eventSink?: OAuth2EventSinkProvider;
  /**
   * Modules whose exported providers the `clientRepository`, `keyStore` and `eventSink` replacements inject
   * (`{ useFactory, inject: [Vault] }`, or a class whose constructor takes them). In `forRootAsync` the
   * `imports` it already takes serve them as well as the options factory. @default none
   */
  imports?: ModuleMetadata['imports'];
  /** Register the module globally, so `OAuth2Guard` works in every module. @default false */
  isGlobal?: boolean;
}
