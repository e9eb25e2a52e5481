import { availableParallelism } from 'node:os';
import { parseKeyEncryptionKey } from './keys/key-encryption.js';
import { SigningKeySet } from './keys/signing-key-set.js';
import type {
  OAuth2ClientAuthMethod,
  OAuth2ClientAuthThrottleOptions,
  OAuth2ClientCacheOptions,
  OAuth2CustomClaims,
  OAuth2ModuleOptions,
  OAuth2SecretVerificationOptions,
  OAuth2StoreOptions,
} from './oauth2-options.interface.js';
import type { OAuthClientView } from './clients/oauth-client.entity.js';
import { parseStoredList } from './http/scope.js';
import {
  accessTokenCacheSize,
  type OAuth2AccessTokenCacheOptions,
} from './state/verified-token.cache.js';

/** Access token lifetimes in seconds: at least one, and an `exp` that fits a 32-bit time for any client. */
export const ACCESS_TOKEN_LIFETIME_MAX = 2 ** 31 - 1;
/** The defaults of the durations the CLI also needs, in seconds: the server's and the CLI's agree. */
export const DURATION_DEFAULTS = {
  accessTokenLifetime: 3600,
  maxAccessTokenLifetime: 86400,
  maxAssertionLifetime: 3600,
  jwksMaxAge: 300,
  keyRefreshInterval: 60,
} as const;
const DEFAULT_STORAGE_TIMEOUT_MS = 5000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const DEFAULT_REALM = 'Service';
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** A quoted-string value of a challenge must not hold `"` or `\` (RFC 9110 §11.2, RFC 6750 §3). */
const REALM_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;
const BUILT_IN_METHODS = new Set([
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
]);

/** The rule of an access token lifetime, for every caller (module, example app): whole seconds in range. */
export function checkAccessTokenLifetime(seconds: number, name: string): number {
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > ACCESS_TOKEN_LIFETIME_MAX) {
    throw new Error(
      `${name} must be a whole number of seconds from 1 to ${ACCESS_TOKEN_LIFETIME_MAX}`,
    );
  }
  return seconds;
}

/** The rule of the shortest chosen secret, for every caller (module, CLI): a whole number of at least 1. */
export function checkMinSecretLength(length: number, name: string): number {
  if (!Number.isSafeInteger(length) || length < 1) {
    throw new Error(`${name} must be a whole number of at least 1`);
  }
  return length;
}

/** The rule of the JWKS max-age, for every caller (module, example app, CLI): whole seconds, 0 or more. */
export function checkJwksMaxAge(seconds: number, name: string): number {
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new Error(`${name} must be a whole number of seconds of at least 0`);
  }
  return seconds;
}

/** The rule of the key refresh interval, for every caller: whole seconds that fit a Node timer. */
export function checkKeyRefreshInterval(seconds: number, name: string): number {
  const max = Math.floor(MAX_TIMER_MS / 1000);
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > max) {
    throw new Error(`${name} must be a whole number of seconds from 1 to ${max}`);
  }
  return seconds;
}

/** Where the module's signing keys come from, as its `keyStore` extra says. */
export type OAuth2KeySource = 'signing' | 'typeorm-key-store' | 'custom-key-store';

/**
 * The module options checked and completed once at start-up, so a misconfiguration fails the boot with a
 * clear message instead of the first request. Inject it (in an OAuth2Guard subclass, say) to read the
 * settings in force; every duration is in seconds unless its name ends in `Ms`.
 */
export class OAuth2Config {
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly accessTokenLifetime: number;
  readonly maxAccessTokenLifetime: number;
  readonly maxAssertionLifetime: number;
  readonly allowCredentialsInRequestBody: boolean;
  readonly allowPublicClients: boolean;
  readonly allowAccessTokenInBody: boolean;
  readonly realm: string;
  readonly customClaims: OAuth2CustomClaims | undefined;
  readonly legacyPlaintextSecrets: boolean;
  readonly secretPepper: string | Buffer | undefined;
  readonly previousSecretPeppers: ReadonlyArray<string | Buffer>;
  readonly storageTimeoutMs: number;
  readonly clientAuthMethods: readonly OAuth2ClientAuthMethod[];
  readonly clientCache: Readonly<Required<OAuth2ClientCacheOptions>>;
  readonly accessTokenCache: Readonly<Required<OAuth2AccessTokenCacheOptions>>;
  /** Failed-authentication throttling; false when turned off. */
  readonly clientAuthThrottle: Readonly<Required<OAuth2ClientAuthThrottleOptions>> | false;
  readonly minSecretLength: number;
  readonly secretVerification: Readonly<Required<OAuth2SecretVerificationOptions>>;
  /** The keys of the `signing` option; undefined with a key store (the key ring holds its keys). */
  readonly keys: SigningKeySet | undefined;
  /** The key encryption key of the TypeORM key store, and the former ones. */
  readonly keyEncryptionKey: Buffer | undefined;
  readonly previousKeyEncryptionKeys: readonly Buffer[];
  readonly keyRefreshInterval: number;
  readonly jwksMaxAge: number;
  readonly clockTolerance: number;
  readonly scopesSupported: readonly string[] | undefined;
  /** The shared store; undefined: in memory, this instance only. */
  readonly store: Readonly<OAuth2StoreOptions> | undefined;
  /** Who may introspect tokens (RFC 7662 §2.1). */
  readonly introspectionAccess: (client: OAuthClientView) => boolean;

  /** @param keySource where the keys come from: the module passes what its `keyStore` extra says */
  constructor(options: OAuth2ModuleOptions, keySource: OAuth2KeySource = 'signing') {
    if (!options || typeof options.issuer !== 'string' || options.issuer.trim() === '') {
      throw configError('`issuer` is required');
    }
    this.issuer = options.issuer;
    checkIssuer(this.issuer);
    const audience = options.audience ?? options.issuer;
    this.audience = Array.isArray(audience) ? [...audience] : [audience];
    if (
      this.audience.length === 0 ||
      this.audience.some((a) => typeof a !== 'string' || a === '')
    ) {
      throw configError('`audience` must be a non-empty string or list of strings');
    }
    this.accessTokenLifetime = checked(() =>
      checkAccessTokenLifetime(
        options.accessTokenLifetime ?? DURATION_DEFAULTS.accessTokenLifetime,
        '`accessTokenLifetime`',
      ),
    );
    this.maxAccessTokenLifetime = checked(() =>
      checkAccessTokenLifetime(
        options.maxAccessTokenLifetime ??
          Math.max(DURATION_DEFAULTS.maxAccessTokenLifetime, this.accessTokenLifetime),
        '`maxAccessTokenLifetime`',
      ),
    );
    if (this.accessTokenLifetime > this.maxAccessTokenLifetime) {
      throw configError('`accessTokenLifetime` must not exceed `maxAccessTokenLifetime`');
    }
    this.maxAssertionLifetime = checked(() =>
      checkAccessTokenLifetime(
        options.maxAssertionLifetime ?? DURATION_DEFAULTS.maxAssertionLifetime,
        '`maxAssertionLifetime`',
      ),
    );
    this.allowCredentialsInRequestBody = options.allowCredentialsInRequestBody ?? true;
    this.allowPublicClients = options.allowPublicClients ?? false;
    this.allowAccessTokenInBody = options.allowAccessTokenInBody ?? false;
    this.realm = options.realm ?? DEFAULT_REALM;
    if (!REALM_CHARS.test(this.realm)) {
      throw configError('`realm` must be printable ASCII without `"` or `\\`');
    }
    this.customClaims = options.customClaims;
    this.legacyPlaintextSecrets = options.legacyPlaintextSecrets ?? false;
    this.secretPepper = options.secretPepper;
    this.previousSecretPeppers = [...(options.previousSecretPeppers ?? [])];
    this.storageTimeoutMs = options.storageTimeoutMs ?? DEFAULT_STORAGE_TIMEOUT_MS;
    // Node's timers take at most 2^31 - 1 ms; past it a timer fires at once.
    if (
      !Number.isSafeInteger(this.storageTimeoutMs) ||
      this.storageTimeoutMs < 1 ||
      this.storageTimeoutMs > MAX_TIMER_MS
    ) {
      throw configError(
        `\`storageTimeoutMs\` must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`,
      );
    }
    this.clientAuthMethods = clientAuthMethods(options.clientAuthMethods ?? []);
    this.clientCache = wholeNumbers('clientCache', { ttl: 5, max: 10_000 }, options.clientCache);
    this.accessTokenCache = {
      maxEntries: accessTokenCacheSize(options.accessTokenCache, configError),
    };
    this.secretVerification = wholeNumbers(
      'secretVerification',
      {
        cacheTtl: 2 * this.maxAccessTokenLifetime,
        cacheMax: 10_000,
        // scrypt runs on libuv's pool (4 threads) but on the same cores as the event loop: leave it one.
        maxConcurrentKdf: Math.min(4, Math.max(1, availableParallelism() - 1)),
        maxQueuedKdf: 32,
      },
      options.secretVerification,
    );
    this.clientAuthThrottle =
      options.clientAuthThrottle === false
        ? false
        : wholeNumbers(
            'clientAuthThrottle',
            {
              window: 900,
              freeFailures: 5,
              maxFailures: 20,
              maxDelayMs: 5000,
              maxFailuresPerClient: 1000,
            },
            options.clientAuthThrottle,
          );
    if (this.clientAuthThrottle) {
      const { window, freeFailures, maxFailures, maxFailuresPerClient } = this.clientAuthThrottle;
      if (window < 1 || maxFailures < 1 || freeFailures >= maxFailures) {
        throw configError(
          '`clientAuthThrottle` needs a window of 1 s or more and freeFailures below maxFailures (at least 1)',
        );
      }
      if (maxFailuresPerClient < maxFailures) {
        throw configError(
          '`clientAuthThrottle.maxFailuresPerClient` must be at least `maxFailures`',
        );
      }
    }
    this.minSecretLength = checked(() =>
      checkMinSecretLength(options.minSecretLength ?? 20, '`minSecretLength`'),
    );
    // lru-cache takes max 0 for "unbounded": a bound of 0 is never what was meant.
    for (const [name, value] of [
      ['secretVerification.maxConcurrentKdf', this.secretVerification.maxConcurrentKdf],
      ['secretVerification.cacheMax', this.secretVerification.cacheMax],
      ['clientCache.max', this.clientCache.max],
    ] as const) {
      if (value < 1) throw configError(`\`${name}\` must be at least 1`);
    }
    const store = keySource !== 'signing';
    if (store) {
      if (options.signing !== undefined) {
        throw configError(
          '`signing` and a `keyStore` exclude each other: with a key store the keys come from it',
        );
      }
    } else {
      const storeOnly = ['keyEncryptionKey', 'previousKeyEncryptionKeys', 'keyRefreshInterval'];
      const given = storeOnly.find(
        (name) => options[name as keyof OAuth2ModuleOptions] !== undefined,
      );
      if (given) throw configError(`\`${given}\` applies to a \`keyStore\` only, and none is set`);
    }
    this.keys = store ? undefined : SigningKeySet.fromOptions(options.signing!);
    if (keySource === 'typeorm-key-store' && options.keyEncryptionKey === undefined) {
      throw configError(
        '`keyStore: true` needs `keyEncryptionKey` (32+ random bytes, e.g. `openssl rand -hex 32`)',
      );
    }
    this.keyEncryptionKey =
      options.keyEncryptionKey === undefined
        ? undefined
        : checked(() => parseKeyEncryptionKey(options.keyEncryptionKey!, '`keyEncryptionKey`'));
    this.previousKeyEncryptionKeys = (options.previousKeyEncryptionKeys ?? []).map((key) =>
      checked(() => parseKeyEncryptionKey(key, 'each of `previousKeyEncryptionKeys`')),
    );
    this.keyRefreshInterval = checked(() =>
      checkKeyRefreshInterval(
        options.keyRefreshInterval ?? DURATION_DEFAULTS.keyRefreshInterval,
        '`keyRefreshInterval`',
      ),
    );
    this.clockTolerance = options.clockTolerance ?? 0;
    if (!Number.isSafeInteger(this.clockTolerance) || this.clockTolerance < 0) {
      throw configError('`clockTolerance` must be a whole number of seconds of at least 0');
    }
    this.jwksMaxAge = checked(() =>
      checkJwksMaxAge(options.jwksMaxAge ?? DURATION_DEFAULTS.jwksMaxAge, '`jwksMaxAge`'),
    );
    if (options.scopesSupported !== undefined) {
      if (
        !Array.isArray(options.scopesSupported) ||
        options.scopesSupported.some(
          (scope) => typeof scope !== 'string' || !SCOPE_TOKEN.test(scope),
        )
      ) {
        throw configError('`scopesSupported` must be a list of RFC 6749 §3.3 scope tokens');
      }
      this.scopesSupported = [...new Set(options.scopesSupported)];
    }
    this.store = checkStore(options.store);
    if (
      options.introspectionAccess !== undefined &&
      typeof options.introspectionAccess !== 'function'
    ) {
      throw configError('`introspectionAccess` must be a function of the client');
    }
    this.introspectionAccess = options.introspectionAccess ?? mayIntrospect;
  }
}

/** The scope a client's record must hold to introspect tokens, by default. */
export const INTROSPECT_SCOPE = 'introspect';

function mayIntrospect(client: OAuthClientView): boolean {
  return parseStoredList(client.scope).includes(INTROSPECT_SCOPE);
}

/**
 * The rule of a Redis URL, for every caller (module, example app, CLI): the redis or rediss (TLS) scheme. The
 * value is never quoted: it may hold a password.
 */
export function checkRedisUrl(url: unknown, name: string): string {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')) {
    throw new Error(`${name} must be a redis:// or rediss:// URL`);
  }
  return url as string;
}

/** `store`: a redis URL of the redis or rediss scheme; its password is never quoted. Defaults filled in. */
export function checkStore(store: OAuth2StoreOptions | undefined): OAuth2StoreOptions | undefined {
  if (store === undefined) return undefined;
  const redis = store?.redis;
  checked(() => checkRedisUrl(redis?.url, '`store.redis.url`'));
  const keyPrefix = redis.keyPrefix ?? 'oauth2:';
  if (typeof keyPrefix !== 'string') throw configError('`store.redis.keyPrefix` must be a string');
  const commandTimeoutMs = redis.commandTimeoutMs ?? 500;
  if (
    !Number.isSafeInteger(commandTimeoutMs) ||
    commandTimeoutMs < 1 ||
    commandTimeoutMs > MAX_TIMER_MS
  ) {
    throw configError(
      '`store.redis.commandTimeoutMs` must be a whole number of milliseconds of at least 1',
    );
  }
  return { redis: { ...redis, keyPrefix, commandTimeoutMs } };
}

/**
 * RFC 8414 §2: the issuer is a URL without query or fragment (https in production; http for a local setup).
 * Its metadata route takes a path of up to four segments (RFC 8414 §3.1).
 */
function checkIssuer(issuer: string): void {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw configError('`issuer` must be an https URL (RFC 8414 §2)');
  }
  if (
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.search !== '' ||
    url.hash !== '' ||
    issuer.includes('#') ||
    issuer.includes('?')
  ) {
    throw configError('`issuer` must be an https URL without query or fragment (RFC 8414 §2)');
  }
  if (url.pathname.split('/').filter(Boolean).length > 4) {
    throw configError('`issuer` may have a path of four segments at most');
  }
}

function configError(problem: string): Error {
  return new Error(`OAuth2Module: ${problem}`);
}

/** Runs a shared validator, naming the module in its message. */
function checked<T>(validate: () => T): T {
  try {
    return validate();
  } catch (error) {
    throw configError((error as Error).message);
  }
}

function clientAuthMethods(methods: readonly OAuth2ClientAuthMethod[]): OAuth2ClientAuthMethod[] {
  if (!Array.isArray(methods)) throw configError('`clientAuthMethods` must be a list');
  const names = new Set<string>();
  for (const method of methods) {
    if (
      typeof method?.name !== 'string' ||
      !/^[a-z0-9_]+$/.test(method.name) ||
      typeof method.strategy !== 'string' ||
      method.strategy === '' ||
      typeof method.isPresentIn !== 'function'
    ) {
      throw configError(
        'each of `clientAuthMethods` needs a lower-case `name`, a Passport `strategy` and `isPresentIn()`',
      );
    }
    if (BUILT_IN_METHODS.has(method.name) || names.has(method.name)) {
      throw configError(`the client authentication method ${method.name} is defined twice`);
    }
    names.add(method.name);
  }
  return [...methods];
}

/** Defaults completed with the given values, each a whole number ≥ 0. */
function wholeNumbers<T extends Record<string, number>>(
  name: string,
  defaults: T,
  given: Partial<T> | undefined,
): T {
  // A value given as undefined (an unset environment variable, say) keeps its default.
  const set = Object.entries(given ?? {}).filter(([, value]) => value !== undefined);
  const merged = { ...defaults, ...Object.fromEntries(set) } as T;
  for (const [key, value] of Object.entries(merged)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw configError(`\`${name}.${key}\` must be a whole number of at least 0`);
    }
  }
  return merged;
}
