import type { INestApplication } from '@nestjs/common';
import { createExampleApp, type ExampleAppOptions } from '../../src/example/create-example-app.js';
import { CapturingLogger } from './logger.js';

export interface RunningExample {
  app: INestApplication;
  logger: CapturingLogger;
  server: ReturnType<INestApplication['getHttpServer']>;
}

/** Builds the example app from `env` and listens on an ephemeral loopback port. */
export async function startExample(
  env: Record<string, string>,
  options: Omit<ExampleAppOptions, 'logger'>,
): Promise<RunningExample> {
  const logger = new CapturingLogger();
  const app = await createExampleApp({ PORT: '0', ...env }, { ...options, logger });
  await app.listen(0, '127.0.0.1');
  return { app, logger, server: app.getHttpServer() };
}
