import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { createOAuth2Document } from '@nest-oauth2/server/swagger';
import { AppModule } from './app.module.js';

const app = await NestFactory.create(AppModule);
const config = new DocumentBuilder().setTitle('Reports API').setVersion('1.0.0').build();
// Built on the first request to /docs (or /docs-json), when every route is known.
SwaggerModule.setup('docs', app, () =>
  createOAuth2Document(app, config, {
    scopes: { 'reports:read': 'List the reports', 'reports:write': 'Create a report' },
  }),
);
await app.listen(process.env.PORT ?? 3000);
