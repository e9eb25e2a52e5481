import { afterAll, beforeAll } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { OAuth2ModuleOptions } from '../../src/index.js';
import { platforms, startApp, type Platform } from './app.js';
import { databases, type IsolatedDatabase, type TestDatabase } from './databases.js';
import { fixtures, testOptions, type AppFixture } from './fixtures.js';

export interface AppCase {
  name: string;
  fixture: AppFixture;
  platform: Platform;
  database: TestDatabase;
}

/**
 * Every way the e2e suites run: each fixture on each platform over SQLite, and the fixtures marked
 * `realDatabases` on each platform over every real database the environment enables.
 */
export const appCases: AppCase[] = databases.flatMap((database) =>
  platforms.flatMap((platform) =>
    fixtures
      .filter(
        (fixture) => database.name === 'sqlite' || (fixture.usesDatabase && fixture.realDatabases),
      )
      .map((fixture) => ({
        name: `${fixture.name}, ${platform}, ${database.name}`,
        fixture,
        platform,
        database,
      })),
  ),
);

// A database the environment enables but no case runs on would pass in silence: fail at load instead.
for (const database of databases) {
  if (!appCases.some((appCase) => appCase.database === database)) {
    throw new Error(
      `the e2e matrix has no case on ${database.name}: mark a fixture with usesDatabase and realDatabases`,
    );
  }
}

/** Starts the case's app before the suite (in its own schema or database) and tears both down after. */
export function useApp(
  appCase: AppCase,
  options: Partial<OAuth2ModuleOptions> = {},
): () => INestApplication {
  let app: INestApplication | undefined;
  let database: IsolatedDatabase | undefined;
  beforeAll(async () => {
    database = appCase.fixture.usesDatabase ? await appCase.database.create() : undefined;
    app = await startApp(appCase.fixture.metadata(testOptions(options), {}, database?.options), {
      platform: appCase.platform,
    });
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });
  return () => {
    if (!app) throw new Error('the app did not start');
    return app;
  };
}
