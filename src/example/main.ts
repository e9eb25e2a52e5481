import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createExampleApp, exampleLogger } from './create-example-app.js';
import { ExampleConfig } from './example-config.js';

const logger = new Logger('ExampleApp');

try {
  // Set first, so that a bad variable is reported in the chosen format too.
  const appLogger = exampleLogger(process.env);
  Logger.overrideLogger(appLogger);
  const app = await createExampleApp(process.env, { logger: appLogger });
  app.enableShutdownHooks();
  const { port } = app.get(ExampleConfig);
  await app.listen(port);
  const base = `http://localhost:${port}`;
  logger.log(`Listening on ${base}: POST ${base}/oauth2/token, GET ${base}/api/whoami`, {
    event: 'example.app.listening',
    port,
  });
} catch (error) {
  logger.error(error instanceof Error ? error.message : String(error), {
    event: 'example.app.start_failed',
  });
  // A half-started app may hold database connections open.
  process.exit(1);
}
