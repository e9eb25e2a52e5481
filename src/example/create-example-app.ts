import {
  ConsoleLogger,
  type DynamicModule,
  type INestApplication,
  type LoggerService,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { serveExampleDocs } from './docs.js';
import { envReader, ExampleConfig, logFormat, type ExamplePlatform } from './example-config.js';
import { ResourceAppModule } from './resource-app.module.js';
import { ResourceExampleConfig } from './resource-example-config.js';

export interface ExampleAppOptions {
  /** Where a relative DATABASE_URL path and OAUTH2_SIGNING_KEY_FILE are resolved from. @default process.cwd() */
  cwd?: string;
  /** Folder of the development signing key. @default <cwd>/data */
  dataDir?: string;
  /** Nest's logger, or false for none. @default Nest's console logger */
  logger?: LoggerService | false;
}

/**
 * Builds the example app from environment variables, on Express or (HTTP_PLATFORM=fastify) Fastify, with
 * Swagger UI at /docs, without listening: `main.ts` listens on PORT, a test calls `init()` or `listen(0)`; `app.get(ExampleConfig)` gives
 * the settings in use. A bad variable rejects with an ExampleConfigError (a DatabaseUrlError for
 * DATABASE_URL) before Nest starts.
 */
export async function createExampleApp(
  env: Readonly<Record<string, string | undefined>>,
  options: ExampleAppOptions = {},
): Promise<INestApplication> {
  const config = new ExampleConfig(env, options);
  const app = await createOnPlatform(AppModule.forConfig(config), config.platform, options);
  await serveExampleDocs(app);
  return app;
}

/**
 * Builds the example resource server (`npm run start:resource`) from environment variables: the example's /api
 * routes, accepting the tokens of OAUTH2_ISSUER. It starts whether or not the issuer answers;
 * `app.get(ResourceExampleConfig)` gives the settings in use.
 */
export async function createResourceExampleApp(
  env: Readonly<Record<string, string | undefined>>,
  options: Pick<ExampleAppOptions, 'logger'> = {},
): Promise<INestApplication> {
  const config = new ResourceExampleConfig(env);
  return createOnPlatform(ResourceAppModule.forConfig(config), config.platform, options);
}

/**
 * The example apps' logger, by LOG_FORMAT: Nest's ConsoleLogger as it is (text), or writing one JSON object a
 * line (json) with each line's fields (`event`, …) at the top level beside `level`, `context` and `message`,
 * as a log platform ingests them. A bad LOG_FORMAT throws an ExampleConfigError.
 */
export function exampleLogger(env: Readonly<Record<string, string | undefined>>): ConsoleLogger {
  return logFormat(envReader(env)) === 'json'
    ? new ConsoleLogger({ json: true, flattenParams: true })
    : new ConsoleLogger();
}

/** The Nest app of a module on Express or Fastify, not listening yet. */
async function createOnPlatform(
  module: DynamicModule,
  platform: ExamplePlatform,
  { logger }: Pick<ExampleAppOptions, 'logger'>,
): Promise<INestApplication> {
  const appOptions = {
    // Rethrow start-up errors to the caller instead of aborting the process.
    abortOnError: false,
    ...(logger === undefined ? {} : { logger }),
  };
  if (platform === 'fastify') {
    // Loaded only when chosen: an Express app needs no Fastify installed.
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    return NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), appOptions);
  }
  return NestFactory.create<NestExpressApplication>(module, appOptions);
}
