import { parseKeyEncryptionKey, type OAuth2RedisOptions } from '../index.js';
import {
  checkAccessTokenLifetime,
  checkJwksMaxAge,
  checkKeyRefreshInterval,
  checkMinSecretLength,
  checkRedisUrl,
  DURATION_DEFAULTS,
} from '../oauth2-config.js';

/** The environment the CLI and the example app read. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The variables of the key encryption keys, as messages name them. */
export const KEK_VARIABLES = {
  current: 'OAUTH2_KEY_ENCRYPTION_KEY',
  previous: 'OAUTH2_PREVIOUS_KEY_ENCRYPTION_KEYS',
} as const;

const read = (env: Env, name: string): string | undefined =>
  env[name] === '' ? undefined : env[name];

/**
 * A duration in whole seconds from the environment, checked by the library's own rule for it (`check`);
 * undefined when the variable is unset or empty. Read the same way by the CLI and the example app.
 */
export function secondsFromEnv(
  env: Env,
  name: string,
  check: (seconds: number, name: string) => number,
): number | undefined {
  const text = read(env, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) {
    throw new Error(`${name} must be a whole number of seconds, not '${text}'`);
  }
  return check(Number(text), name);
}

/**
 * OAUTH2_KEY_ENCRYPTION_KEY and OAUTH2_PREVIOUS_KEY_ENCRYPTION_KEYS (several, separated by spaces or commas),
 * each checked by `parseKeyEncryptionKey`. `current` is undefined when the variable is unset.
 */
export function keyEncryptionKeysFromEnv(env: Env): { current?: Buffer; previous: Buffer[] } {
  const current = read(env, KEK_VARIABLES.current);
  const previous = (read(env, KEK_VARIABLES.previous) ?? '').split(/[\s,]+/).filter(Boolean);
  return {
    current:
      current === undefined ? undefined : parseKeyEncryptionKey(current, KEK_VARIABLES.current),
    previous: previous.map((key) =>
      parseKeyEncryptionKey(key, `each of ${KEK_VARIABLES.previous}`),
    ),
  };
}

/**
 * REDIS_URL and OAUTH2_REDIS_KEY_PREFIX: the shared store of the servers (`store: { redis }`), which the CLI
 * publishes its changes to; undefined when REDIS_URL is unset. Read the same way by the CLI and the example
 * app, so both use one prefix. No message quotes the URL: it may hold a password.
 */
export function redisOptionsFromEnv(env: Env): OAuth2RedisOptions | undefined {
  const url = read(env, 'REDIS_URL');
  const keyPrefix = read(env, 'OAUTH2_REDIS_KEY_PREFIX');
  if (url === undefined) {
    if (keyPrefix !== undefined) throw new Error('OAUTH2_REDIS_KEY_PREFIX needs REDIS_URL');
    return undefined;
  }
  checkRedisUrl(url, 'REDIS_URL');
  return keyPrefix === undefined ? { url } : { url, keyPrefix };
}

/**
 * OAUTH2_MIN_SECRET_LENGTH, the module's `minSecretLength`: the shortest secret a person may choose, a whole
 * number of at least 1; undefined when unset (the hasher's default, 20).
 */
export function minSecretLengthFromEnv(env: Env): number | undefined {
  const name = 'OAUTH2_MIN_SECRET_LENGTH';
  const text = read(env, name);
  if (text === undefined) return undefined;
  try {
    if (!/^\d+$/.test(text)) throw new Error(`${name} must be a whole number of at least 1`);
    return checkMinSecretLength(Number(text), name);
  } catch (error) {
    throw new Error(`${(error as Error).message}, not '${text}'`);
  }
}

/** The durations of a key rotation, from the same variables as the server's, with its defaults. */
export interface KeyTimings {
  /** OAUTH2_ACCESS_TOKEN_LIFETIME. */
  accessTokenLifetime: number;
  /** OAUTH2_MAX_ACCESS_TOKEN_LIFETIME: the bound of every client's own lifetime. */
  maxAccessTokenLifetime: number;
  /** OAUTH2_JWKS_MAX_AGE. */
  jwksMaxAge: number;
  /** OAUTH2_KEY_REFRESH_INTERVAL. */
  keyRefreshInterval: number;
}

/**
 * OAUTH2_MAX_ACCESS_TOKEN_LIFETIME, the module's `maxAccessTokenLifetime` (default 86400): no client's
 * `access_token_lifetime` may exceed it.
 */
export function maxAccessTokenLifetimeFromEnv(env: Env): number {
  return (
    secondsFromEnv(env, 'OAUTH2_MAX_ACCESS_TOKEN_LIFETIME', checkAccessTokenLifetime) ??
    DURATION_DEFAULTS.maxAccessTokenLifetime
  );
}

export function keyTimingsFromEnv(env: Env): KeyTimings {
  const accessTokenLifetime =
    secondsFromEnv(env, 'OAUTH2_ACCESS_TOKEN_LIFETIME', checkAccessTokenLifetime) ??
    DURATION_DEFAULTS.accessTokenLifetime;
  const maxAccessTokenLifetime = maxAccessTokenLifetimeFromEnv(env);
  if (accessTokenLifetime > maxAccessTokenLifetime) {
    // The module refuses the same pair at boot.
    throw new Error(
      'OAUTH2_ACCESS_TOKEN_LIFETIME must not exceed OAUTH2_MAX_ACCESS_TOKEN_LIFETIME ' +
        `(${maxAccessTokenLifetime})`,
    );
  }
  return {
    accessTokenLifetime,
    maxAccessTokenLifetime,
    jwksMaxAge:
      secondsFromEnv(env, 'OAUTH2_JWKS_MAX_AGE', checkJwksMaxAge) ?? DURATION_DEFAULTS.jwksMaxAge,
    keyRefreshInterval:
      secondsFromEnv(env, 'OAUTH2_KEY_REFRESH_INTERVAL', checkKeyRefreshInterval) ??
      DURATION_DEFAULTS.keyRefreshInterval,
  };
}

/**
 * The longest an access token issued now can live: the module's lifetime, or a client's own where longer,
 * each client's bounded by the maximum as the token endpoint bounds it.
 */
export function longestTokenLifetime(
  timings: Pick<KeyTimings, 'accessTokenLifetime' | 'maxAccessTokenLifetime'>,
  clientLifetimes: readonly (number | null)[],
): number {
  return Math.max(
    timings.accessTokenLifetime,
    ...clientLifetimes.map((lifetime) => Math.min(lifetime ?? 0, timings.maxAccessTokenLifetime)),
  );
}
