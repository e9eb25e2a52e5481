import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsoleLoggerOptions } from '@nestjs/common';
import { createOAuth2Options } from './app.module.js';
import { exampleLogger } from './create-example-app.js';
import { ExampleConfig, ExampleConfigError } from './example-config.js';

const PEM = '-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n';

function refused(env: Record<string, string>): string {
  try {
    new ExampleConfig(env, { cwd: '/srv/app' });
  } catch (error) {
    expect(error).toBeInstanceOf(ExampleConfigError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('ExampleConfig', () => {
  test('defaults', () => {
    const config = new ExampleConfig({}, { cwd: '/srv/app' });
    expect({ ...config }).toEqual({
      cwd: '/srv/app',
      port: 3000,
      databaseUrl: 'sqlite:./data/oauth2.sqlite',
      issuer: 'http://localhost:3000',
      audience: undefined,
      accessTokenLifetime: undefined,
      jwksMaxAge: undefined,
      keyRefreshInterval: undefined,
      allowCredentialsInRequestBody: true,
      allowPublicClients: false,
      tableName: 'oauth_clients',
      tablePrefix: '',
      legacyPlaintextSecrets: false,
      secretPepper: undefined,
      platform: 'express',
      signing: {
        algorithm: 'RS256',
        keyStore: {
          keyEncryptionKey: undefined,
          previousKeyEncryptionKeys: [],
          devKeyEncryptionKeyFile: '/srv/app/data/dev-key-encryption-key',
        },
      },
    });
  });

  test('every variable is read', () => {
    const config = new ExampleConfig(
      {
        PORT: '8080',
        DATABASE_URL: 'postgres://db/oauth',
        OAUTH2_ISSUER: 'https://auth.example',
        OAUTH2_ACCESS_TOKEN_LIFETIME: '600',
        OAUTH2_MAX_ACCESS_TOKEN_LIFETIME: '7200',
        OAUTH2_ALLOW_CREDENTIALS_IN_BODY: 'false',
        OAUTH2_ALLOW_PUBLIC_CLIENTS: 'TRUE',
        OAUTH2_SIGNING_ALGORITHM: 'hs384',
        OAUTH2_HMAC_SECRET: 's'.repeat(48),
        OAUTH2_CLIENT_TABLE: 'clients',
        OAUTH2_TABLE_PREFIX: 'yii_',
        OAUTH2_LEGACY_PLAINTEXT_SECRETS: 'true',
        OAUTH2_SECRET_PEPPER: 'p'.repeat(32),
        HTTP_PLATFORM: 'Fastify',
      },
      { cwd: '/srv/app', dataDir: '/var/lib/example' },
    );
    expect({ ...config }).toMatchObject({
      port: 8080,
      databaseUrl: 'postgres://db/oauth',
      issuer: 'https://auth.example',
      accessTokenLifetime: 600,
      maxAccessTokenLifetime: 7200,
      allowCredentialsInRequestBody: false,
      allowPublicClients: true,
      tableName: 'clients',
      tablePrefix: 'yii_',
      legacyPlaintextSecrets: true,
      secretPepper: 'p'.repeat(32),
      platform: 'fastify',
      signing: { algorithm: 'HS384', secret: 's'.repeat(48) },
    });
  });

  test('the issuer follows PORT; empty variables count as unset', () => {
    const config = new ExampleConfig({ PORT: '4000', OAUTH2_ISSUER: '', DATABASE_URL: '' });
    expect(config.issuer).toBe('http://localhost:4000');
    expect(config.databaseUrl).toBe('sqlite:./data/oauth2.sqlite');
  });

  test('the development key encryption key goes to the data folder given', () => {
    const config = new ExampleConfig({}, { cwd: '/srv/app', dataDir: 'state' });
    expect(config.signing).toMatchObject({
      algorithm: 'RS256',
      keyStore: { devKeyEncryptionKeyFile: '/srv/app/state/dev-key-encryption-key' },
    });
  });

  test("the key store: its key encryption keys, timings and the first key's algorithm", () => {
    const config = new ExampleConfig({
      OAUTH2_SIGNING_ALGORITHM: 'es256',
      OAUTH2_KEY_ENCRYPTION_KEY: 'ab'.repeat(32),
      OAUTH2_PREVIOUS_KEY_ENCRYPTION_KEYS: `${'cd'.repeat(32)},${Buffer.alloc(32, 1).toString('base64')}`,
      OAUTH2_JWKS_MAX_AGE: '0',
      OAUTH2_KEY_REFRESH_INTERVAL: '5',
      OAUTH2_AUDIENCE: ' https://api.example  https://other.example ',
    });
    expect(config.signing).toEqual({
      algorithm: 'ES256',
      keyStore: {
        keyEncryptionKey: Buffer.alloc(32, 0xab),
        previousKeyEncryptionKeys: [Buffer.alloc(32, 0xcd), Buffer.alloc(32, 1)],
        devKeyEncryptionKeyFile: expect.stringMatching(/dev-key-encryption-key$/),
      },
    });
    expect(config).toMatchObject({
      jwksMaxAge: 0,
      keyRefreshInterval: 5,
      audience: ['https://api.example', 'https://other.example'],
    });
    expect(new ExampleConfig({ OAUTH2_AUDIENCE: 'https://api.example' }).audience).toEqual([
      'https://api.example',
    ]);
  });

  test('REDIS_URL and OAUTH2_REDIS_KEY_PREFIX: the shared store of the module options', () => {
    const env = { OAUTH2_ISSUER: 'https://auth.example', OAUTH2_HMAC_SECRET: 's'.repeat(32) };
    const signing = { OAUTH2_SIGNING_ALGORITHM: 'HS256' };
    const alone = new ExampleConfig({ ...env, ...signing });
    expect(alone.redis).toBeUndefined();
    expect(createOAuth2Options(alone)).not.toHaveProperty('store');

    const shared = new ExampleConfig({
      ...env,
      ...signing,
      REDIS_URL: 'rediss://default:p%40ss@cache.internal:6380/2',
      OAUTH2_REDIS_KEY_PREFIX: 'auth-eu:',
    });
    const redis = { url: 'rediss://default:p%40ss@cache.internal:6380/2', keyPrefix: 'auth-eu:' };
    expect(shared.redis).toEqual(redis);
    expect(createOAuth2Options(shared).store).toEqual({ redis });
    expect(new ExampleConfig({ REDIS_URL: 'redis://127.0.0.1' }).redis).toEqual({
      url: 'redis://127.0.0.1',
    });
  });

  test.each([
    'http://user:hunter2@cache:6379',
    'hunter2',
    'redis//:hunter2@cache',
    'unix:///run/redis.sock?password=hunter2',
  ])('REDIS_URL %s is refused without quoting it', (url) => {
    const message = refused({ REDIS_URL: url });
    expect(message).toBe('REDIS_URL must be a redis:// or rediss:// URL');
    expect(message).not.toContain('hunter2');
  });

  test('OAUTH2_REDIS_KEY_PREFIX without REDIS_URL is refused', () => {
    expect(refused({ OAUTH2_REDIS_KEY_PREFIX: 'auth:' })).toBe(
      'OAUTH2_REDIS_KEY_PREFIX needs REDIS_URL',
    );
  });

  test('OAUTH2_SIGNING_KEY, with literal \\n escapes turned into new lines', () => {
    const config = new ExampleConfig({
      OAUTH2_SIGNING_ALGORITHM: 'RS256',
      OAUTH2_SIGNING_KEY: PEM.replace(/\n/g, '\\n'),
    });
    expect(config.signing).toEqual({ algorithm: 'RS256', privateKey: PEM });
  });

  test('OAUTH2_SIGNING_KEY_FILE is read, relative to cwd', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'oauth2-config-'));
    try {
      writeFileSync(join(cwd, 'key.pem'), PEM);
      const config = new ExampleConfig(
        { OAUTH2_SIGNING_ALGORITHM: 'ES256', OAUTH2_SIGNING_KEY_FILE: 'key.pem' },
        { cwd },
      );
      expect(config.signing).toEqual({ algorithm: 'ES256', privateKey: PEM });
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test.each([
    [{ PORT: 'abc' }, "PORT must be a whole number from 0 to 65535, not 'abc'"],
    [{ PORT: '70000' }, "PORT must be a whole number from 0 to 65535, not '70000'"],
    [{ PORT: '-1' }, 'PORT must be a whole number'],
    [{ OAUTH2_ACCESS_TOKEN_LIFETIME: '0' }, 'OAUTH2_ACCESS_TOKEN_LIFETIME must be a whole number'],
    [
      { OAUTH2_MAX_ACCESS_TOKEN_LIFETIME: '1d' },
      'OAUTH2_MAX_ACCESS_TOKEN_LIFETIME must be a whole',
    ],
    [{ OAUTH2_ACCESS_TOKEN_LIFETIME: '1.5' }, 'OAUTH2_ACCESS_TOKEN_LIFETIME must be a whole'],
    [{ OAUTH2_ACCESS_TOKEN_LIFETIME: '1h' }, 'OAUTH2_ACCESS_TOKEN_LIFETIME must be a whole'],
    [
      { OAUTH2_ALLOW_PUBLIC_CLIENTS: 'yes' },
      "OAUTH2_ALLOW_PUBLIC_CLIENTS must be true or false, not 'yes'",
    ],
    [
      { OAUTH2_ALLOW_CREDENTIALS_IN_BODY: 'off' },
      'OAUTH2_ALLOW_CREDENTIALS_IN_BODY must be true or false',
    ],
    [{ OAUTH2_SIGNING_ALGORITHM: 'none' }, 'OAUTH2_SIGNING_ALGORITHM must be one of RS256,'],
    [
      { OAUTH2_SIGNING_ALGORITHM: 'HS256' },
      'OAUTH2_SIGNING_ALGORITHM HS256 needs OAUTH2_HMAC_SECRET',
    ],
    [
      { OAUTH2_SIGNING_ALGORITHM: 'HS256', OAUTH2_HMAC_SECRET: 'x', OAUTH2_SIGNING_KEY: PEM },
      'HS256 signs with OAUTH2_HMAC_SECRET',
    ],
    [{ OAUTH2_HMAC_SECRET: 'x' }, 'OAUTH2_HMAC_SECRET is for HS256/HS384/HS512'],
    [
      { OAUTH2_LEGACY_PLAINTEXT_SECRETS: 'on' },
      "OAUTH2_LEGACY_PLAINTEXT_SECRETS must be true or false, not 'on'",
    ],
    [{ HTTP_PLATFORM: 'koa' }, "HTTP_PLATFORM must be express or fastify, not 'koa'"],
    [{ OAUTH2_SECRET_PEPPER: 'p'.repeat(31) }, 'OAUTH2_SECRET_PEPPER needs at least 32 bytes'],
    [
      { OAUTH2_CLIENT_TABLE: 'oauth-clients' },
      'OAUTH2_TABLE_PREFIX + OAUTH2_CLIENT_TABLE: "oauth-clients" is not a valid table name',
    ],
    [
      { OAUTH2_TABLE_PREFIX: '9_' },
      'OAUTH2_TABLE_PREFIX + OAUTH2_CLIENT_TABLE: "9_oauth_clients" is not a valid table name',
    ],
    [{ OAUTH2_SIGNING_KEY: PEM, OAUTH2_SIGNING_KEY_FILE: '/k.pem' }, 'not both'],
    [
      { OAUTH2_SIGNING_ALGORITHM: 'ES384' },
      'OAUTH2_SIGNING_ALGORITHM ES384 needs OAUTH2_SIGNING_KEY or OAUTH2_SIGNING_KEY_FILE: the key store generates RS256, PS256, ES256 keys',
    ],
    [
      { OAUTH2_KEY_ENCRYPTION_KEY: 'hunter2' },
      'OAUTH2_KEY_ENCRYPTION_KEY must be a random key of at least 32 bytes',
    ],
    [
      { OAUTH2_PREVIOUS_KEY_ENCRYPTION_KEYS: 'ab'.repeat(31) },
      'each of OAUTH2_PREVIOUS_KEY_ENCRYPTION_KEYS must be a random key of at least 32 bytes',
    ],
    [
      { OAUTH2_JWKS_MAX_AGE: '5m' },
      "OAUTH2_JWKS_MAX_AGE must be a whole number of seconds, not '5m'",
    ],
    [
      { OAUTH2_KEY_REFRESH_INTERVAL: '0' },
      'OAUTH2_KEY_REFRESH_INTERVAL must be a whole number of seconds from 1 to',
    ],
    [
      { OAUTH2_SIGNING_KEY_FILE: '/nonexistent/k.pem' },
      'OAUTH2_SIGNING_KEY_FILE /nonexistent/k.pem cannot be read (ENOENT)',
    ],
  ])('%j is refused', (env, message) => {
    expect(refused(env)).toContain(message);
  });
});

describe('exampleLogger: LOG_FORMAT', () => {
  const optionsOf = (env: Record<string, string | undefined>) =>
    (exampleLogger(env) as unknown as { options: ConsoleLoggerOptions }).options;

  test.each([{}, { LOG_FORMAT: 'text' }])('%j: text, as Nest prints it by default', (env) => {
    const { json, flattenParams } = optionsOf(env);
    expect([json, flattenParams]).toEqual([undefined, undefined]);
  });

  test('json, in any case: one JSON object a line, the fields at its top level', () => {
    expect(optionsOf({ LOG_FORMAT: 'JSON' })).toMatchObject({ json: true, flattenParams: true });
  });

  test('another value is refused, naming the variable', () => {
    expect(() => exampleLogger({ LOG_FORMAT: 'xml' })).toThrow(
      new ExampleConfigError("LOG_FORMAT must be text or json, not 'xml'"),
    );
  });
});
