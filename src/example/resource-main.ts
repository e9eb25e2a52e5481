import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createResourceExampleApp } from './create-example-app.js';
import { ResourceExampleConfig } from './resource-example-config.js';

const logger = new Logger('ResourceExampleApp');

try {
  const app = await createResourceExampleApp(process.env);
  app.enableShutdownHooks();
  const { port, issuer } = app.get(ResourceExampleConfig);
  await app.listen(port);
  const base = `http://localhost:${port}`;
  logger.log(
    `Listening on ${base}: GET ${base}/api/whoami, ${base}/api/reports; tokens from ${issuer}`,
  );
} catch (error) {
  logger.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
