import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkDatabaseUrl, DEFAULT_DATABASE_URL } from '../cli/database-url.js';
import {
  keyEncryptionKeysFromEnv,
  redisOptionsFromEnv,
  secondsFromEnv,
} from '../cli/env-settings.js';
import { checkSecretPepper } from '../clients/client-secret.hasher.js';
import { clientTableName, DEFAULT_CLIENT_TABLE } from '../clients/oauth-client.entity.js';
import {
  STORED_KEY_ALGORITHMS,
  type OAuth2RedisOptions,
  type OAuth2SigningKeyOptions,
  type OAuth2StoredKeyAlgorithm,
} from '../index.js';
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS } from '../keys/signing-keys.js';
import {
  checkAccessTokenLifetime,
  checkJwksMaxAge,
  checkKeyRefreshInterval,
} from '../oauth2-config.js';

export type SigningAlgorithm = OAuth2SigningKeyOptions['algorithm'];

const DEFAULT_PORT = 3000;
/** RS256: the cheapest asymmetric verification (the fleet's hot path) and RFC 9068's mandatory algorithm. */
const DEFAULT_ALGORITHM = 'RS256';
const DEV_KEK_FILE_NAME = 'dev-key-encryption-key';
const PLATFORMS = ['express', 'fastify'] as const;

/** The HTTP platform Nest runs on. */
export type ExamplePlatform = (typeof PLATFORMS)[number];

/** The database key store's settings: its key encryption keys, or where the development one is kept. */
export interface ExampleKeyStoreSettings {
  /** OAUTH2_KEY_ENCRYPTION_KEY; undefined: the development key in `devKeyEncryptionKeyFile`. */
  keyEncryptionKey: Buffer | undefined;
  /** OAUTH2_PREVIOUS_KEY_ENCRYPTION_KEYS. */
  previousKeyEncryptionKeys: Buffer[];
  devKeyEncryptionKeyFile: string;
}

/**
 * Where the signing keys come from: configured key material (a static key, no store), or the database key
 * store, whose first key is generated with `algorithm`.
 */
export type ExampleSigningSource =
  | { algorithm: (typeof HMAC_ALGORITHMS)[number]; secret: string }
  | { algorithm: (typeof ASYMMETRIC_ALGORITHMS)[number]; privateKey: string }
  | { algorithm: OAuth2StoredKeyAlgorithm; keyStore: ExampleKeyStoreSettings };

/** An environment variable with a value the example app cannot use. */
export class ExampleConfigError extends Error {
  override readonly name = 'ExampleConfigError';
}

/**
 * The example app's settings, read once from the environment so that a bad value stops the start with a
 * message naming the variable. Also the DI token the module factories inject.
 */
export class ExampleConfig {
  /** PORT. @default 3000 */
  readonly port: number;
  /** DATABASE_URL. @default sqlite:./data/oauth2.sqlite */
  readonly databaseUrl: string;
  /** OAUTH2_ISSUER. @default http://localhost:<port> */
  readonly issuer: string;
  /** OAUTH2_AUDIENCE: one value or a space-separated list. @default the issuer */
  readonly audience: string[] | undefined;
  /** OAUTH2_ACCESS_TOKEN_LIFETIME, in seconds. @default the module's (3600) */
  readonly accessTokenLifetime: number | undefined;
  /** OAUTH2_MAX_ACCESS_TOKEN_LIFETIME, in seconds: clients' own lifetimes are cut to it. @default the module's */
  readonly maxAccessTokenLifetime: number | undefined;
  /** OAUTH2_JWKS_MAX_AGE, in seconds. @default the module's (300) */
  readonly jwksMaxAge: number | undefined;
  /** OAUTH2_KEY_REFRESH_INTERVAL, in seconds, with the key store. @default the module's (60) */
  readonly keyRefreshInterval: number | undefined;
  /** OAUTH2_ALLOW_CREDENTIALS_IN_BODY. @default true */
  readonly allowCredentialsInRequestBody: boolean;
  /** OAUTH2_ALLOW_PUBLIC_CLIENTS. @default false */
  readonly allowPublicClients: boolean;
  /** OAUTH2_CLIENT_TABLE: the client table, an existing seed table keeping its name. @default oauth_clients */
  readonly tableName: string;
  /** OAUTH2_TABLE_PREFIX: prefix of its name, as yii2's tablePrefix. @default '' */
  readonly tablePrefix: string;
  /** OAUTH2_LEGACY_PLAINTEXT_SECRETS: accept (and hash on use) the seed's plaintext secrets. @default false */
  readonly legacyPlaintextSecrets: boolean;
  /** OAUTH2_SECRET_PEPPER: keys the digests of generated secrets; the CLI needs the same. @default none */
  readonly secretPepper: string | undefined;
  /** HTTP_PLATFORM: express or fastify. @default express */
  readonly platform: ExamplePlatform;
  /**
   * REDIS_URL (redis:// or rediss://) and OAUTH2_REDIS_KEY_PREFIX: the state several instances share
   * (`store: { redis }`). @default none: this instance's own, in memory
   */
  readonly redis: OAuth2RedisOptions | undefined;
  /**
   * OAUTH2_SIGNING_ALGORITHM with OAUTH2_SIGNING_KEY, OAUTH2_SIGNING_KEY_FILE or OAUTH2_HMAC_SECRET; without
   * them the database key store, with OAUTH2_KEY_ENCRYPTION_KEY and OAUTH2_PREVIOUS_KEY_ENCRYPTION_KEYS.
   */
  readonly signing: ExampleSigningSource;
  /** Where a relative sqlite path is resolved from. */
  readonly cwd: string;

  constructor(
    env: Readonly<Record<string, string | undefined>>,
    { cwd = process.cwd(), dataDir = join(cwd, 'data') }: { cwd?: string; dataDir?: string } = {},
  ) {
    const read = envReader(env);
    this.cwd = cwd;
    this.port = integer(read, 'PORT', 0, 65535) ?? DEFAULT_PORT;
    this.databaseUrl = read('DATABASE_URL') ?? DEFAULT_DATABASE_URL;
    checkDatabaseUrl(this.databaseUrl);
    this.issuer = read('OAUTH2_ISSUER') ?? `http://localhost:${this.port}`;
    const audience = read('OAUTH2_AUDIENCE')?.split(' ').filter(Boolean);
    this.audience = audience?.length ? audience : undefined;
    this.accessTokenLifetime = library(() =>
      secondsFromEnv(env, 'OAUTH2_ACCESS_TOKEN_LIFETIME', checkAccessTokenLifetime),
    );
    this.maxAccessTokenLifetime = library(() =>
      secondsFromEnv(env, 'OAUTH2_MAX_ACCESS_TOKEN_LIFETIME', checkAccessTokenLifetime),
    );
    this.jwksMaxAge = library(() => secondsFromEnv(env, 'OAUTH2_JWKS_MAX_AGE', checkJwksMaxAge));
    this.keyRefreshInterval = library(() =>
      secondsFromEnv(env, 'OAUTH2_KEY_REFRESH_INTERVAL', checkKeyRefreshInterval),
    );
    this.allowCredentialsInRequestBody = boolean(read, 'OAUTH2_ALLOW_CREDENTIALS_IN_BODY') ?? true;
    this.allowPublicClients = boolean(read, 'OAUTH2_ALLOW_PUBLIC_CLIENTS') ?? false;
    this.tableName = read('OAUTH2_CLIENT_TABLE') ?? DEFAULT_CLIENT_TABLE;
    this.tablePrefix = read('OAUTH2_TABLE_PREFIX') ?? '';
    library(() => clientTableName(this), 'OAUTH2_TABLE_PREFIX + OAUTH2_CLIENT_TABLE: ');
    this.legacyPlaintextSecrets = boolean(read, 'OAUTH2_LEGACY_PLAINTEXT_SECRETS') ?? false;
    this.secretPepper = read('OAUTH2_SECRET_PEPPER');
    const pepper = this.secretPepper;
    if (pepper !== undefined) library(() => checkSecretPepper(pepper, 'OAUTH2_SECRET_PEPPER'));
    this.platform = platform(read);
    this.redis = library(() => redisOptionsFromEnv(env));
    this.signing = signingSource(read, cwd, () => ({
      ...library(() => keyEncryptionKeysFromEnv(env)),
      devKeyEncryptionKeyFile: resolve(cwd, dataDir, DEV_KEK_FILE_NAME),
    }));
  }
}

/** Reads one variable of the environment. */
export type Read = (name: string) => string | undefined;

/** The environment's variables, an empty one counting as unset. */
export function envReader(env: Readonly<Record<string, string | undefined>>): Read {
  return (name) => (env[name] === '' ? undefined : env[name]);
}

export function integer(read: Read, name: string, min: number, max: number): number | undefined {
  const text = read(name);
  if (text === undefined) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    throw new ExampleConfigError(
      `${name} must be a whole number from ${min} to ${max}, not '${text}'`,
    );
  }
  return value;
}

function boolean(read: Read, name: string): boolean | undefined {
  const text = read(name);
  if (text === undefined) return undefined;
  switch (text.toLowerCase()) {
    case 'true':
    case '1':
      return true;
    case 'false':
    case '0':
      return false;
    default:
      throw new ExampleConfigError(`${name} must be true or false, not '${text}'`);
  }
}

/** Runs one of the library's own validators, its message becoming an ExampleConfigError. */
export function library<T>(validate: () => T, prefix = ''): T {
  try {
    return validate();
  } catch (error) {
    throw new ExampleConfigError(prefix + (error as Error).message);
  }
}

export function platform(read: Read): ExamplePlatform {
  return choice(read, 'HTTP_PLATFORM', PLATFORMS, 'express');
}

const LOG_FORMATS = ['text', 'json'] as const;

/** How the example apps write their log lines. */
export type ExampleLogFormat = (typeof LOG_FORMATS)[number];

/** LOG_FORMAT: text (Nest's coloured lines, for people) or json (one JSON object a line, for a platform). */
export function logFormat(read: Read): ExampleLogFormat {
  return choice(read, 'LOG_FORMAT', LOG_FORMATS, 'text');
}

/** A variable naming one of `choices`, in any case; `fallback` when unset. */
function choice<T extends string>(read: Read, name: string, choices: readonly T[], fallback: T): T {
  const text = read(name) ?? fallback;
  const value = text.toLowerCase();
  if (!isOneOf(choices, value)) {
    throw new ExampleConfigError(`${name} must be ${choices.join(' or ')}, not '${text}'`);
  }
  return value;
}

function signingSource(
  read: Read,
  cwd: string,
  keyStore: () => { current?: Buffer; previous: Buffer[]; devKeyEncryptionKeyFile: string },
): ExampleSigningSource {
  const algorithm = (read('OAUTH2_SIGNING_ALGORITHM') ?? DEFAULT_ALGORITHM).toUpperCase();
  const key = read('OAUTH2_SIGNING_KEY');
  const keyFile = read('OAUTH2_SIGNING_KEY_FILE');
  const secret = read('OAUTH2_HMAC_SECRET');

  if (isOneOf(HMAC_ALGORITHMS, algorithm)) {
    if (key !== undefined || keyFile !== undefined) {
      throw new ExampleConfigError(
        `${algorithm} signs with OAUTH2_HMAC_SECRET; OAUTH2_SIGNING_KEY and OAUTH2_SIGNING_KEY_FILE are for asymmetric algorithms`,
      );
    }
    // A shared secret must be the same on every resource server: it is never made up here.
    if (secret === undefined) {
      throw new ExampleConfigError(
        `OAUTH2_SIGNING_ALGORITHM ${algorithm} needs OAUTH2_HMAC_SECRET`,
      );
    }
    return { algorithm, secret };
  }
  if (!isOneOf(ASYMMETRIC_ALGORITHMS, algorithm)) {
    throw new ExampleConfigError(
      `OAUTH2_SIGNING_ALGORITHM must be one of ${[...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS].join(', ')}`,
    );
  }
  if (secret !== undefined) {
    throw new ExampleConfigError(
      `OAUTH2_HMAC_SECRET is for HS256/HS384/HS512; ${algorithm} signs with OAUTH2_SIGNING_KEY or OAUTH2_SIGNING_KEY_FILE`,
    );
  }
  if (key !== undefined && keyFile !== undefined) {
    throw new ExampleConfigError('set OAUTH2_SIGNING_KEY or OAUTH2_SIGNING_KEY_FILE, not both');
  }
  if (key !== undefined) {
    // .env files and container settings often carry a PEM on one line with literal \n escapes.
    return { algorithm, privateKey: key.includes('\n') ? key : key.replace(/\\n/g, '\n') };
  }
  if (keyFile !== undefined) {
    try {
      return { algorithm, privateKey: readFileSync(resolve(cwd, keyFile), 'utf8') };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ExampleConfigError(`OAUTH2_SIGNING_KEY_FILE ${keyFile} cannot be read (${code})`);
    }
  }
  if (!isOneOf(STORED_KEY_ALGORITHMS, algorithm)) {
    throw new ExampleConfigError(
      `OAUTH2_SIGNING_ALGORITHM ${algorithm} needs OAUTH2_SIGNING_KEY or OAUTH2_SIGNING_KEY_FILE: ` +
        `the key store generates ${STORED_KEY_ALGORITHMS.join(', ')} keys`,
    );
  }
  const { current, previous, devKeyEncryptionKeyFile } = keyStore();
  return {
    algorithm,
    keyStore: {
      keyEncryptionKey: current,
      previousKeyEncryptionKeys: previous,
      devKeyEncryptionKeyFile,
    },
  };
}

function isOneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}
