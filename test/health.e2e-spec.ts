import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { Controller, Get, type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import request from 'supertest';
import type { DataSource, DataSourceOptions } from 'typeorm';
import {
  InMemoryOAuthClientRepository,
  OAuth2HealthIndicator,
  OAuth2Module,
  OAuthClient,
  type OAuth2ModuleOptions,
} from '../src/index.js';
import { startApp } from './support/app.js';
import { databases, type IsolatedDatabase } from './support/databases.js';
import { testOptions, typeOrmRoot } from './support/fixtures.js';
import { eventually, KEK, keyRows, sqliteWithActiveKey, storeOf } from './support/key-store.js';
import { requireRedis, testRedisUrl, uniqueRedisPrefix } from './support/redis.js';
import { TcpProxy } from './support/tcp-proxy.js';

/**
 * Issue 12: OAuth2HealthIndicator under a real @nestjs/terminus HealthCheckService and controller. Up; down
 * (503) when the client storage or Redis is cut through a TCP proxy, or the key store holds no active key; up
 * again once restored. Every check is bounded by `storageTimeoutMs`, so a blackholed storage answers too.
 */

const STORAGE_TIMEOUT_MS = 300;

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly oauth2: OAuth2HealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.oauth2.isHealthy('oauth2')]);
  }
}

const withHealth = (imports: ModuleMetadata['imports']): ModuleMetadata => ({
  imports: [TerminusModule, ...(imports ?? [])],
  controllers: [HealthController],
});

const options = (overrides: Partial<OAuth2ModuleOptions> = {}) =>
  testOptions({ storageTimeoutMs: STORAGE_TIMEOUT_MS, ...overrides });

interface HealthBody {
  status: string;
  info: Record<string, Record<string, Record<string, unknown> | string>>;
  error: Record<string, Record<string, Record<string, unknown> | string>>;
  details: { oauth2: Record<string, Record<string, unknown> | string> };
}

/**
 * The body once `fetch` (which checks the status) passes: the indicator answers a result again for a second,
 * so a change is seen at the latest then.
 */
async function onceChanged(fetch: () => Promise<HealthBody>): Promise<HealthBody> {
  let body: HealthBody | undefined;
  await eventually(async () => {
    body = await fetch();
  });
  return body!;
}

async function health(app: INestApplication, status: number): Promise<HealthBody> {
  const response = await request(app.getHttpServer()).get('/health');
  expect([response.status, response.body]).toEqual([status, expect.any(Object)]);
  return response.body as HealthBody;
}

const up = { status: 'up' };
const down = (reason?: RegExp | string) => ({
  status: 'down',
  reason:
    reason === undefined
      ? expect.any(String)
      : typeof reason === 'string'
        ? reason
        : expect.stringMatching(reason),
});
/** A storage failure as the indicator describes it: the error's class and code, or the timeout. */
const STORAGE_REASON = /^\w+( \([\w.-]+\))?$|^no answer within \d+ ms$/;

/** A storage the test cuts and restores: an in-memory repository, or a real database behind a TcpProxy. */
interface StorageHarness {
  app: INestApplication;
  cut(): Promise<void>;
  blackhole(): void;
  restore(): Promise<void>;
  /** What no health body may show: hosts, ports, credentials, SQL. */
  leaks: RegExp[];
  close(): Promise<void>;
}

class FlakyRepository extends InMemoryOAuthClientRepository {
  mode: 'open' | 'cut' | 'blackhole' = 'open';
  private held: Array<() => void> = [];

  override async findById(clientId: string): Promise<OAuthClient | null> {
    if (this.mode === 'cut') {
      throw Object.assign(
        new Error(
          'connect ECONNREFUSED 10.9.8.7:5432 password=hunter2 SELECT * FROM oauth_clients',
        ),
        { code: 'ECONNREFUSED' },
      );
    }
    if (this.mode === 'blackhole') await new Promise<void>((resolve) => this.held.push(resolve));
    return super.findById(clientId);
  }

  release(): void {
    this.mode = 'open';
    for (const resume of this.held.splice(0)) resume();
  }
}

const literal = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

const storages: { name: string; start(): Promise<StorageHarness> }[] = [
  {
    name: 'in-memory repository',
    async start() {
      const repository = new FlakyRepository([OAuthClient.create({ clientId: 'svc' })]);
      const app = await startApp(
        withHealth([
          OAuth2Module.forRoot({ ...options(), clientRepository: { useValue: repository } }),
        ]),
      );
      return {
        app,
        cut: async () => void (repository.mode = 'cut'),
        blackhole: () => void (repository.mode = 'blackhole'),
        restore: async () => repository.release(),
        leaks: [/10\.9\.8\.7/, /hunter2/, /SELECT/, /ECONNREFUSED 10/],
        close: () => app.close(),
      };
    },
  },
  ...databases
    .filter((database) => database.name !== 'sqlite')
    .map((database) => ({
      name: `${database.name} through a TCP proxy`,
      async start(): Promise<StorageHarness> {
        const isolated: IsolatedDatabase = await database.create();
        const { options: direct } = isolated;
        const target =
          'url' in direct && direct.url
            ? new URL(direct.url)
            : new URL(
                `mysql://${(direct as { host: string }).host}:${(direct as { port: number }).port}`,
              );
        const proxy = await TcpProxy.start({
          host: target.hostname,
          port: Number(target.port || (database.name === 'postgres' ? 5432 : 3306)),
        });
        let proxied: DataSourceOptions;
        if ('url' in direct && direct.url) {
          const url = new URL(direct.url);
          url.hostname = '127.0.0.1';
          url.port = String(proxy.port);
          proxied = { ...direct, url: url.href, connectTimeoutMS: 1000 } as DataSourceOptions;
        } else {
          proxied = {
            ...direct,
            host: '127.0.0.1',
            port: proxy.port,
            connectTimeout: 1000,
          } as DataSourceOptions;
        }
        let app: INestApplication | undefined;
        const close = async () => {
          proxy.restore();
          await app?.close();
          await proxy.close();
          await isolated.drop();
        };
        try {
          app = await startApp(withHealth([typeOrmRoot(proxied), OAuth2Module.forRoot(options())]));
        } catch (error) {
          await close();
          throw error;
        }
        return {
          app,
          cut: () => proxy.cut(),
          blackhole: () => proxy.blackhole(),
          restore: async () => proxy.restore(),
          leaks: [
            literal(target.hostname),
            new RegExp(`\\b${proxy.port}\\b`),
            new RegExp(`\\b${target.port || 5432}\\b`),
            /:\/\//,
            /SELECT|FROM|oauth_clients/,
          ],
          close,
        };
      },
    })),
];

describe.each(storages)('health: storage, $name', ({ start }) => {
  let harness: StorageHarness;
  const bodies: string[] = [];
  beforeAll(async () => {
    harness = await start();
  });
  afterEach(async () => {
    await harness.restore();
  });
  afterAll(async () => {
    await harness?.close();
    // Bodies are checked once more, all together: no host, port, credential or query in any.
    expect(bodies.length).toBeGreaterThan(2);
    for (const leak of harness.leaks) expect(bodies.join('\n')).not.toMatch(leak);
  });
  const check = async (status: number) => {
    const body = await health(harness.app, status);
    bodies.push(JSON.stringify(body));
    return body;
  };
  const checkOnceChanged = (status: number) => onceChanged(() => check(status));

  test('up: every check up, the active key named; no redis check without store.redis', async () => {
    const body = await check(200);
    expect(body.status).toBe('ok');
    expect(body.info.oauth2).toEqual({
      status: 'up',
      storage: up,
      signingKey: { status: 'up', kid: expect.any(String), algorithm: 'ES256' },
    });
  });

  test('cut: 503, storage down with its error class and code only; up again once restored', async () => {
    await harness.cut();
    const body = await checkOnceChanged(503);
    expect(body.status).toBe('error');
    expect(body.error.oauth2).toMatchObject({
      status: 'down',
      storage: down(STORAGE_REASON),
      signingKey: { status: 'up' },
    });
    await harness.restore();
    await eventually(async () => {
      expect((await check(200)).info.oauth2.storage).toEqual(up);
    });
  });

  test('blackhole: 503 within the storage timeout, not a hang; up again once restored', async () => {
    harness.blackhole();
    const body = await checkOnceChanged(503);
    expect(body.error.oauth2.storage).toEqual(down(`no answer within ${STORAGE_TIMEOUT_MS} ms`));
    await harness.restore();
    await eventually(async () => {
      expect((await check(200)).status).toBe('ok');
    });
  });
});

describe('health: the signing key, from a key store', () => {
  let database: Awaited<ReturnType<typeof sqliteWithActiveKey>> | undefined;
  let admin: DataSource;
  let app: INestApplication;
  beforeAll(async () => {
    database = await sqliteWithActiveKey();
    admin = database.admin;
    app = await startApp(
      withHealth([
        typeOrmRoot(database.options),
        OAuth2Module.forRoot({
          ...options({ signing: undefined, keyEncryptionKey: KEK, keyRefreshInterval: 1 }),
          keyStore: true,
        }),
      ]),
    );
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  test('up with the kid the ring signs with and the one the store holds active', async () => {
    const [row] = await keyRows(admin);
    const body = await health(app, 200);
    expect(body.info.oauth2.signingKey).toEqual({
      status: 'up',
      kid: row.kid,
      algorithm: 'ES256',
      storedActiveKid: row.kid,
    });
  });

  test('every key retired, then none at all: down; a new active key: up', async () => {
    await admin.query(`UPDATE oauth_signing_keys SET state = 'retired', retired_at = 1`);
    const retired = await onceChanged(() => health(app, 503));
    expect(retired.error.oauth2.signingKey).toMatchObject(
      down('the key store holds no active signing key'),
    );
    expect(retired.error.oauth2.storage).toEqual(up);
    await admin.query('DELETE FROM oauth_signing_keys');
    expect((await onceChanged(() => health(app, 503))).error.oauth2.signingKey).toMatchObject(
      down(),
    );
    const key = await storeOf(admin).generate('ES256', { activate: true });
    await eventually(async () => {
      expect((await health(app, 200)).info.oauth2.signingKey).toEqual({
        status: 'up',
        kid: key.kid,
        algorithm: 'ES256',
        storedActiveKid: key.kid,
      });
    });
  });
});

const redisUrl = testRedisUrl;
(redisUrl ? describe : describe.skip)('health: Redis through a TCP proxy', () => {
  let proxy: TcpProxy;
  let app: INestApplication;
  beforeAll(async () => {
    await requireRedis(redisUrl);
    const target = new URL(redisUrl!);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
    const proxied = new URL(redisUrl!);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    app = await startApp(
      withHealth([
        OAuth2Module.forRoot({
          ...options({
            store: {
              redis: {
                url: proxied.href,
                keyPrefix: uniqueRedisPrefix(),
                commandTimeoutMs: STORAGE_TIMEOUT_MS,
              },
            },
          }),
          clientRepository: { useValue: new InMemoryOAuthClientRepository() },
        }),
      ]),
    );
  });
  afterAll(async () => {
    proxy?.restore();
    await app?.close();
    await proxy?.close();
  });

  test('up, naming Redis without user or password; down when cut; up again once restored', async () => {
    const label = `redis://127.0.0.1:${proxy.port}`;
    await eventually(async () => {
      expect((await health(app, 200)).info.oauth2.redis).toEqual({ status: 'up', url: label });
    });
    await proxy.cut();
    const body = await onceChanged(() => health(app, 503));
    expect(body.error.oauth2).toMatchObject({
      status: 'down',
      storage: up,
      signingKey: { status: 'up' },
      redis: { status: 'down', url: label, reason: expect.stringMatching(/^Redis /) },
    });
    // Named once, in `url`: the reason does not repeat it.
    expect(JSON.stringify(body.error.oauth2.redis).split(label)).toHaveLength(2);
    expect(JSON.stringify(body)).not.toMatch(/@/);
    proxy.restore();
    await eventually(async () => {
      expect((await health(app, 200)).info.oauth2.redis).toEqual({ status: 'up', url: label });
    });
  });
});
