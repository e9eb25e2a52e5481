import {
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type ModuleMetadata,
} from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { DataSourceOptions } from 'typeorm';
import {
  InMemoryOAuthClientRepository,
  oauth2Entities,
  oauth2Migrations,
  OAuth2Module,
  type OAuth2ModuleExtras,
  type OAuth2ModuleOptions,
} from '../../src/index.js';
import { es256 } from './keys.js';
import { resourceControllers } from './resource.controller.js';

const SQLITE: DataSourceOptions = { type: 'better-sqlite3', database: ':memory:' };

export const ISSUER = 'https://auth.test.example';

/** Claims of a token as the module would issue it for testclient, for hand-made variants. */
export const tokenClaims = (overrides: Record<string, unknown> = {}) => {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    sub: 'testclient',
    aud: ISSUER,
    client_id: 'testclient',
    scope: 'reports:read reports:write',
    jti: randomUUID(),
    iat: now,
    exp: now + 600,
    ...overrides,
  };
};

export function testOptions(overrides: Partial<OAuth2ModuleOptions> = {}): OAuth2ModuleOptions {
  return {
    issuer: ISSUER,
    signing: { algorithm: 'ES256', privateKey: es256.privateKey },
    // The suites send many failures from one address on purpose; throttling them is test/abuse.e2e-spec.ts's
    // subject, where it is on.
    clientAuthThrottle: false,
    ...overrides,
  };
}

/** The schema comes from the module's migrations, so every e2e suite runs them. */
export const typeOrmRoot = (database: DataSourceOptions): DynamicModule =>
  TypeOrmModule.forRoot({
    ...database,
    entities: oauth2Entities(),
    migrations: oauth2Migrations(),
    migrationsRun: true,
  });

const TEST_OPTIONS = Symbol('TEST_OPTIONS');

@Injectable()
class TestOptionsFactory {
  constructor(@Inject(TEST_OPTIONS) private readonly options: OAuth2ModuleOptions) {}

  createOAuth2Options(): OAuth2ModuleOptions {
    return this.options;
  }
}

@Module({})
class TestOptionsModule {
  static with(options: OAuth2ModuleOptions): DynamicModule {
    return {
      module: TestOptionsModule,
      providers: [{ provide: TEST_OPTIONS, useValue: options }],
      exports: [TEST_OPTIONS],
    };
  }
}

/** One way of wiring the module into an app; the e2e suite runs over each. */
export interface AppFixture {
  name: string;
  /** Whether the app keeps its clients in the TypeORM database. */
  usesDatabase: boolean;
  /**
   * Whether the suites also run it over every real database the environment enables (SQLite runs every
   * fixture): only the fixtures that differ in how the database is wired, the rest would repeat them.
   */
  realDatabases: boolean;
  metadata(
    options: OAuth2ModuleOptions,
    extras?: OAuth2ModuleExtras,
    database?: DataSourceOptions,
  ): ModuleMetadata;
}

export const fixtures: AppFixture[] = [
  {
    name: 'forRoot',
    usesDatabase: true,
    realDatabases: true,
    metadata: (options, extras, database = SQLITE) => ({
      imports: [typeOrmRoot(database), OAuth2Module.forRoot({ ...options, ...extras })],
      controllers: resourceControllers,
    }),
  },
  {
    name: 'forRootAsync useFactory',
    usesDatabase: true,
    realDatabases: true,
    metadata: (options, extras, database = SQLITE) => ({
      imports: [
        typeOrmRoot(database),
        OAuth2Module.forRootAsync({
          ...extras,
          imports: [TestOptionsModule.with(options)],
          inject: [TEST_OPTIONS],
          useFactory: async (injected: OAuth2ModuleOptions) => injected,
        }),
      ],
      controllers: resourceControllers,
    }),
  },
  {
    name: 'forRootAsync useClass',
    usesDatabase: true,
    realDatabases: false,
    metadata: (options, extras, database = SQLITE) => ({
      imports: [
        typeOrmRoot(database),
        OAuth2Module.forRootAsync({
          ...extras,
          imports: [TestOptionsModule.with(options)],
          useClass: TestOptionsFactory,
        }),
      ],
      controllers: resourceControllers,
    }),
  },
  {
    // No TypeORM anywhere in this app: the module must start without a DataSource.
    name: 'custom repository',
    usesDatabase: false,
    realDatabases: false,
    metadata: (options, extras) => ({
      imports: [
        OAuth2Module.forRoot({
          ...options,
          ...extras,
          clientRepository: { useValue: new InMemoryOAuthClientRepository() },
        }),
      ],
      controllers: resourceControllers,
    }),
  },
];
