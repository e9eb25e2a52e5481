import { Logger, type INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { createOAuth2Document } from '../swagger/index.js';

/** Where Swagger UI is served; the document itself is at `/docs-json`. */
export const DOCS_PATH = 'docs';

/**
 * Serves Swagger UI at /docs with the client credentials flow: Authorize with a client id and secret (the demo
 * client's in the README), and "Try it out" calls the /api routes with the token. The document is built on
 * the first request, once every route is known.
 *
 * On Fastify the UI's files need @fastify/static, which @nestjs/swagger loads when the app starts and, if it
 * cannot, ends the process. It is tried here first: without it the app still starts and serves the document
 * (`/docs-json`) without the UI, and says why.
 */
export async function serveExampleDocs(app: INestApplication): Promise<void> {
  const config = new DocumentBuilder()
    .setTitle('@nest-oauth2/server example')
    .setDescription(
      'Reports behind OAuth2Guard. Authorize with a client (client credentials, RFC 6749 §4.4), then try a route.',
    )
    .build();
  const ui = app.getHttpAdapter().getType() !== 'fastify' || (await canServeFilesOnFastify());
  SwaggerModule.setup(
    DOCS_PATH,
    app,
    () =>
      createOAuth2Document(app, config, {
        scopes: { 'reports:read': 'List the reports', 'reports:write': 'Create a report' },
      }),
    { ui, customSiteTitle: 'nest-oauth2 example' },
  );
}

async function canServeFilesOnFastify(): Promise<boolean> {
  try {
    await import('@fastify/static');
    return true;
  } catch (error) {
    new Logger('ExampleDocs').warn(
      `Swagger UI is not served at /${DOCS_PATH}: @fastify/static could not be loaded (${
        error instanceof Error ? error.message.split('\n', 1)[0] : String(error)
      }); the document is at /${DOCS_PATH}-json`,
      { event: 'example.docs.ui_unavailable' },
    );
    return false;
  }
}
