import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createExampleApp } from './create-example-app.js';
import { ExampleConfig } from './example-config.js';

const logger = new Logger('ExampleApp');

try {
  const app = await createExampleApp(process.env);
  app.enableShutdownHooks();
  const { port } = app.get(ExampleConfig);
  await app.listen(port);
  const base = `http://localhost:${port}`;
  logger.log(`Listening on ${base}: POST ${base}/oauth2/token, GET ${base}/api/whoami`);
} catch (error) {
  logger.error(error instanceof Error ? error.message : String(error));
  // A half-started app may hold database connections open.
  process.exit(1);
}
