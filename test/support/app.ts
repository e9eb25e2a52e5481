import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ClientSecretHasher, OAuthClient, OAuthClientRepository } from '../../src/index.js';

/** Builds and starts a Nest app on Express for a test; logging is off unless a logger is given. */
export async function startApp(
  metadata: ModuleMetadata,
  logger?: LoggerService,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule(metadata)
    .setLogger(logger ?? silentLogger)
    .compile();
  const app = moduleRef.createNestApplication({ logger: logger ?? false });
  await app.init();
  return app;
}

export interface SeedClient {
  clientId: string;
  secret?: string | null;
  grantTypes?: string | null;
  scope?: string | null;
  userId?: string | null;
}

/** Stores clients through the app's own repository, hashing their secrets as the CLI does. */
export async function seedClients(app: INestApplication, clients: SeedClient[]): Promise<void> {
  const repository = app.get(OAuthClientRepository);
  const hasher = app.get(ClientSecretHasher);
  for (const { clientId, secret, ...rest } of clients) {
    await repository.save(
      OAuthClient.create({
        clientId,
        clientSecret: secret ? await hasher.hash(secret) : null,
        ...rest,
      }),
    );
  }
}

export const basic = (id: string, secret: string): string =>
  'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');

const silentLogger: LoggerService = { log() {}, error() {}, warn() {} };
