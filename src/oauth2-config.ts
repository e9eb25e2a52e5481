import { availableParallelism } from 'node:os';
import { DEFAULT_ACCESS_TOKEN_LIFETIME, DEFAULT_REALM } from './oauth2.constants.js';
import type {
  OAuth2ClientCacheOptions,
  OAuth2CustomClaims,
  OAuth2ModuleOptions,
  OAuth2SecretVerificationOptions,
} from './oauth2-options.interface.js';
import { resolveSigningKeys, type SigningKeys } from './token/signing-keys.js';

const DEFAULT_STORAGE_TIMEOUT_MS = 5000;
/** A quoted-string value of a challenge must not hold `"` or `\` (RFC 9110 §11.2, RFC 6750 §3). */
const REALM_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * The module options checked and completed once at start-up, so a misconfiguration fails the boot with a clear
 * message instead of the first request. Internal: inject the raw options with `@InjectOAuth2Options()`.
 */
export class OAuth2Config {
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly accessTokenLifetime: number;
  readonly allowCredentialsInRequestBody: boolean;
  readonly allowPublicClients: boolean;
  readonly allowAccessTokenInBody: boolean;
  readonly realm: string;
  readonly customClaims: OAuth2CustomClaims | undefined;
  readonly legacyPlaintextSecrets: boolean;
  readonly storageTimeout: number;
  readonly clientCache: Readonly<Required<OAuth2ClientCacheOptions>>;
  readonly secretVerification: Readonly<Required<OAuth2SecretVerificationOptions>>;
  readonly keys: SigningKeys;

  constructor(options: OAuth2ModuleOptions) {
    if (!options || typeof options.issuer !== 'string' || options.issuer.trim() === '') {
      throw new Error('OAuth2Module: `issuer` is required');
    }
    this.issuer = options.issuer;
    const audience = options.audience ?? options.issuer;
    this.audience = Array.isArray(audience) ? [...audience] : [audience];
    if (
      this.audience.length === 0 ||
      this.audience.some((a) => typeof a !== 'string' || a === '')
    ) {
      throw new Error('OAuth2Module: `audience` must be a non-empty string or list of strings');
    }
    this.accessTokenLifetime = options.accessTokenLifetime ?? DEFAULT_ACCESS_TOKEN_LIFETIME;
    if (!Number.isSafeInteger(this.accessTokenLifetime) || this.accessTokenLifetime < 1) {
      throw new Error(
        'OAuth2Module: `accessTokenLifetime` must be a positive whole number of seconds',
      );
    }
    this.allowCredentialsInRequestBody = options.allowCredentialsInRequestBody ?? true;
    this.allowPublicClients = options.allowPublicClients ?? false;
    this.allowAccessTokenInBody = options.allowAccessTokenInBody ?? false;
    this.realm = options.realm ?? DEFAULT_REALM;
    if (!REALM_CHARS.test(this.realm)) {
      throw new Error('OAuth2Module: `realm` must be printable ASCII without `"` or `\\`');
    }
    this.customClaims = options.customClaims;
    this.legacyPlaintextSecrets = options.legacyPlaintextSecrets ?? false;
    this.storageTimeout = options.storageTimeout ?? DEFAULT_STORAGE_TIMEOUT_MS;
    if (!Number.isSafeInteger(this.storageTimeout) || this.storageTimeout < 1) {
      throw new Error(
        'OAuth2Module: `storageTimeout` must be a positive whole number of milliseconds',
      );
    }
    this.clientCache = wholeNumbers('clientCache', { ttl: 5, max: 10_000 }, options.clientCache);
    this.secretVerification = wholeNumbers(
      'secretVerification',
      {
        cacheTtl: 300,
        cacheMax: 10_000,
        // scrypt runs on libuv's pool (4 threads) but on the same cores as the event loop: leave it one.
        maxConcurrentKdf: Math.min(4, Math.max(1, availableParallelism() - 1)),
        maxQueuedKdf: 32,
      },
      options.secretVerification,
    );
    if (this.secretVerification.maxConcurrentKdf < 1 || this.clientCache.max < 1) {
      throw new Error('OAuth2Module: `maxConcurrentKdf` and `clientCache.max` must be at least 1');
    }
    this.keys = resolveSigningKeys(options.signing);
  }
}

/** Defaults completed with the given values, each a whole number ≥ 0. */
function wholeNumbers<T extends Record<string, number>>(
  name: string,
  defaults: T,
  given: Partial<T> | undefined,
): T {
  const merged = { ...defaults, ...given };
  for (const [key, value] of Object.entries(merged)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new Error(`OAuth2Module: \`${name}.${key}\` must be a whole number of at least 0`);
    }
  }
  return merged;
}
