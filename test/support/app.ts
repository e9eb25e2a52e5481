import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import { ClientSecretHasher, OAuthClient, OAuthClientRepository } from '../../src/index.js';

export type Platform = 'express' | 'fastify';
/** Every suite that runs over platforms runs over these. */
export const platforms: readonly Platform[] = ['express', 'fastify'];

export interface StartOptions {
  platform?: Platform;
  /** Where Nest logs; nowhere unless given. */
  logger?: LoggerService;
  /** Overrides providers of the test module before it is compiled. */
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
}

/** Builds and starts a Nest app for a test, on Express unless told otherwise. */
export async function startApp(
  metadata: ModuleMetadata,
  { platform = 'express', logger, override = (builder) => builder }: StartOptions = {},
): Promise<INestApplication> {
  const moduleRef = await override(
    Test.createTestingModule(metadata).setLogger(logger ?? silentLogger),
  ).compile();
  const appOptions = { logger: logger ?? (false as const) };
  if (platform === 'express') {
    const app = moduleRef.createNestApplication(appOptions);
    await app.init();
    return app;
  }
  const app = moduleRef.createNestApplication<NestFastifyApplication>(
    new FastifyAdapter(),
    appOptions,
  );
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

export interface SeedClient {
  clientId: string;
  secret?: string | null;
  grantTypes?: string | null;
  scope?: string | null;
  userId?: string | null;
}

/**
 * Stores clients through the app's own repository, hashing their secrets as the CLI does. Their secrets are the
 * seed's (`testpass`): imported as legacy secrets, below the length a new chosen secret needs.
 */
export async function seedClients(app: INestApplication, clients: SeedClient[]): Promise<void> {
  const repository = app.get(OAuthClientRepository);
  const hasher = app.get(ClientSecretHasher);
  for (const { clientId, secret, ...rest } of clients) {
    await repository.save(
      OAuthClient.create({
        clientId,
        clientSecret: secret ? await hasher.hash(secret, { legacyImport: true }) : null,
        ...rest,
      }),
    );
  }
}

const silentLogger: LoggerService = { log() {}, error() {}, warn() {} };
