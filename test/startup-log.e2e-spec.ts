import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { ConsoleLogger, type INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import {
  InMemoryOAuthClientRepository,
  OAuth2Module,
  OAuth2ResourceServerModule,
} from '../src/index.js';
import { OAuth2StartupLog } from '../src/observability/startup-log.js';
import { startApp } from './support/app.js';
import { tempDir } from './support/cli.js';
import { ISSUER, testOptions, typeOrmRoot } from './support/fixtures.js';
import { es256, pem } from './support/keys.js';
import { KEK, keyStoreApp, openAdmin, storeOf } from './support/key-store.js';
import { CapturingLogger, type LogLine } from './support/logger.js';

/**
 * Issue 12: the start-up line says what was configured (issuer, endpoints, algorithms and kids, storage,
 * stores), for each kind of configuration, and never a secret: no private key, HMAC secret, pepper, key
 * encryption key, introspection secret or Redis password.
 */

let app: INestApplication | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** Starts the app, and returns the one start-up line and every line. */
async function started(
  metadata: Parameters<typeof startApp>[0],
  event = 'oauth2.startup.configured',
): Promise<{ line: LogLine; all: string }> {
  const logger = new CapturingLogger();
  app = await startApp(metadata, { logger });
  const lines = logger.lines.filter((line) => line.fields?.event === event);
  expect(lines).toHaveLength(1);
  return { line: lines[0], all: logger.everything().join('\n') };
}

/** The base64 body of a PEM: what a leaked key would show. */
const pemBody = (text: string) => text.split('\n').slice(1, -2).join('');

describe('OAuth2Module', () => {
  test('the signing option, the TypeORM client table, state in memory', async () => {
    const { line, all } = await started({
      imports: [
        typeOrmRoot({ type: 'better-sqlite3', database: ':memory:' }),
        OAuth2Module.forRoot(testOptions()),
      ],
    });
    expect(line).toMatchObject({ level: 'log', context: 'OAuth2' });
    expect(line.fields).toEqual({
      event: 'oauth2.startup.configured',
      issuer: ISSUER,
      audience: [ISSUER],
      tokenPath: '/oauth2/token',
      jwksPath: '/oauth2/jwks',
      revocationPath: null,
      introspectionPath: null,
      keySource: 'signing',
      algorithms: ['ES256'],
      kids: [expect.any(String)],
      activeKid: expect.any(String),
      clientStorage: 'typeorm',
      clientTable: 'oauth_clients',
      databaseDriver: 'better-sqlite3',
      dataSource: 'default',
      // typeOrmRoot ran every migration of the module.
      migrationsApplied: [
        'OAuth2CreateClientTable_oauth_clients_1795564800000',
        'OAuth2ClientIdBinaryCollation_oauth_clients_1795996800000',
        'OAuth2CreateSigningKeyTable_oauth_signing_keys_1796601600000',
        'OAuth2ClientLifecycleColumns_oauth_clients_1798502400000',
        'OAuth2CreateClientSecretTable_oauth_client_secrets_1798588800000',
      ],
      migrationsPending: [],
      store: 'memory',
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      throttling: false,
      clientCacheTtl: 5,
      accessTokenLifetime: 3600,
    });
    expect(line.message).toContain(`Authorization server ${ISSUER}: token /oauth2/token`);
    expect(line.message).toMatch(/; the module's migrations: 5 applied, none pending$/);
    expect(all).not.toContain(pemBody(pem(es256.privateKey)).slice(0, 40));
  });

  test('an HMAC secret is never logged', async () => {
    const secret = randomBytes(32).toString('base64url');
    const { line, all } = await started({
      imports: [
        typeOrmRoot({ type: 'better-sqlite3', database: ':memory:' }),
        OAuth2Module.forRoot(testOptions({ signing: { algorithm: 'HS256', secret } })),
      ],
    });
    expect(line.fields).toMatchObject({ keySource: 'signing', algorithms: ['HS256'] });
    expect(all).not.toContain(secret);
  });

  test('the TypeORM key store: its class, the kids it holds, the active one; not the key encryption key', async () => {
    const dir = tempDir('oauth2-startup-');
    try {
      const database: DataSourceOptions = {
        type: 'better-sqlite3',
        database: join(dir.path, 'keys.sqlite'),
      };
      const admin = await openAdmin(database);
      const store = storeOf(admin);
      const active = await store.generate('ES256', { activate: true });
      const next = await store.generate('RS256');
      await admin.destroy();
      const { line, all } = await started(keyStoreApp(database));
      expect(line.fields).toMatchObject({
        keySource: 'typeorm-key-store',
        keyStore: 'TypeOrmOAuth2KeyStore',
        activeKid: active.kid,
        clientStorage: 'typeorm',
        databaseDriver: 'better-sqlite3',
      });
      expect([...(line.fields!.kids as string[])].sort()).toEqual([active.kid, next.kid].sort());
      expect([...(line.fields!.algorithms as string[])].sort()).toEqual(['ES256', 'RS256']);
      expect(all).not.toContain(KEK);
      expect(all).not.toContain(Buffer.from(KEK, 'hex').toString('base64'));
    } finally {
      await app?.close();
      app = undefined;
      dir.remove();
    }
  });

  test('a custom repository, every endpoint on, Redis with a password in its URL: no password, no pepper', async () => {
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const pepper = randomBytes(32).toString('hex');
    const { line, all } = await started({
      imports: [
        OAuth2Module.forRoot({
          ...testOptions({
            clientAuthThrottle: {},
            secretPepper: pepper,
            clientCache: { ttl: 30 },
            // Nothing listens on port 1: the app starts degraded, after its 2 s wait.
            store: { redis: { url: `redis://admin:${password}@127.0.0.1:1/2`, keyPrefix: 'x:' } },
          }),
          clientRepository: InMemoryOAuthClientRepository,
          revocationPath: 'oauth2/revoke',
          introspectionPath: 'oauth2/introspect',
        }),
      ],
    });
    expect(line.fields).toMatchObject({
      revocationPath: '/oauth2/revoke',
      introspectionPath: '/oauth2/introspect',
      clientStorage: 'custom',
      clientRepository: 'InMemoryOAuthClientRepository',
      store: 'redis',
      redis: 'redis://127.0.0.1:1/2',
      redisKeyPrefix: 'x:',
      throttling: true,
      clientCacheTtl: 30,
    });
    expect(line.fields).not.toHaveProperty('clientTable');
    // No TypeORM storage, no migrations to tell.
    expect(line.fields).not.toHaveProperty('migrationsApplied');
    expect(line.message).toContain('shared state on Redis at redis://127.0.0.1:1/2');
    // The Redis warning of the same start names the server the same way.
    expect(all).toContain('oauth2.redis.unreachable');
    expect(all).not.toContain(password);
    expect(all).not.toContain('admin');
    expect(all).not.toContain(pepper);
  }, 15_000);
});

describe('OAuth2ResourceServerModule', () => {
  test('issuer, audience, keys, algorithms, the introspection endpoint and client; never its secret', async () => {
    const clientSecret = `s-${randomBytes(16).toString('hex')}`;
    const { line, all } = await started(
      {
        imports: [
          OAuth2ResourceServerModule.forRoot({
            issuer: 'https://issuer.example',
            audience: 'https://api.example',
            jwksUri: 'https://issuer.example/oauth2/jwks',
            algorithms: ['ES256'],
            introspection: {
              clientId: 'reports-api',
              clientSecret,
              endpoint: 'https://issuer.example/oauth2/introspect',
            },
          }),
        ],
      },
      'oauth2.startup.resource_server_configured',
    );
    expect(line).toMatchObject({ level: 'log', context: 'OAuth2ResourceServer' });
    expect(line.fields).toEqual({
      event: 'oauth2.startup.resource_server_configured',
      issuer: 'https://issuer.example',
      audience: ['https://api.example'],
      jwksUri: 'https://issuer.example/oauth2/jwks',
      metadataUrl: null,
      algorithms: ['ES256'],
      introspection: true,
      introspectionEndpoint: 'https://issuer.example/oauth2/introspect',
      introspectionClientId: 'reports-api',
    });
    expect(all).not.toContain(clientSecret);
  });

  test('keys from the metadata, no introspection', async () => {
    const { line } = await started(
      {
        imports: [
          OAuth2ResourceServerModule.forRoot({
            issuer: 'https://issuer.example/tenant',
            audience: 'https://api.example',
          }),
        ],
      },
      'oauth2.startup.resource_server_configured',
    );
    expect(line.fields).toMatchObject({
      jwksUri: null,
      metadataUrl: 'https://issuer.example/.well-known/oauth-authorization-server/tenant',
      introspection: false,
    });
    expect(line.fields).not.toHaveProperty('introspectionClientId');
  });
});

describe("Nest's ConsoleLogger prints the fields", () => {
  const line = {
    message: 'Configured',
    fields: { event: 'oauth2.startup.configured', kids: ['k1'] },
  };

  function printed(logger: ConsoleLogger): string {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      new OAuth2StartupLog(() => line, logger).onApplicationBootstrap();
      return write.mock.calls.map(([chunk]) => String(chunk)).join('');
    } finally {
      write.mockRestore();
    }
  }

  test('in text, after the message', () => {
    const text = printed(new ConsoleLogger('OAuth2', { colors: false }));
    expect(text).toMatch(
      /LOG \[OAuth2\] Configured \{ event: 'oauth2.startup.configured', kids: \[ 'k1' \] \}/,
    );
  });

  test('in JSON with flattenParams, at the top level of the line', () => {
    const text = printed(new ConsoleLogger('OAuth2', { json: true, flattenParams: true }));
    expect(JSON.parse(text)).toMatchObject({
      level: 'log',
      context: 'OAuth2',
      message: 'Configured',
      event: 'oauth2.startup.configured',
      kids: ['k1'],
    });
  });
});
