import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createResourceExampleApp, exampleLogger } from './create-example-app.js';
import { ResourceExampleConfig } from './resource-example-config.js';

const logger = new Logger('ExampleResourceApp');

try {
  // Set first, so that a bad variable is reported in the chosen format too.
  const appLogger = exampleLogger(process.env);
  Logger.overrideLogger(appLogger);
  const app = await createResourceExampleApp(process.env, { logger: appLogger });
  app.enableShutdownHooks();
  const { port, issuer } = app.get(ResourceExampleConfig);
  await app.listen(port);
  const base = `http://localhost:${port}`;
  logger.log(
    `Listening on ${base}: GET ${base}/api/whoami, ${base}/api/reports; tokens from ${issuer}`,
    { event: 'example.app.listening', port },
  );
} catch (error) {
  logger.error(error instanceof Error ? error.message : String(error), {
    event: 'example.app.start_failed',
  });
  process.exit(1);
}
