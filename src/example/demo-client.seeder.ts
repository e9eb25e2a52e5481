import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ClientSecretHasher, OAuthClient, OAuthClientRepository } from '../index.js';

export const DEMO_CLIENT_ID = 'testclient';
export const DEMO_CLIENT_SECRET = 'testpass';
export const DEMO_CLIENT_SCOPE = 'reports:read reports:write';

/**
 * Registers the demo client testclient / testpass when no client exists, so the README's curl commands work
 * on a fresh database. A table that holds any client is left alone.
 */
@Injectable()
export class DemoClientSeeder implements OnApplicationBootstrap {
  private readonly logger = new Logger(DemoClientSeeder.name);

  constructor(
    private readonly clients: OAuthClientRepository,
    private readonly hasher: ClientSecretHasher,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if ((await this.clients.list()).length > 0) return;
    await this.clients.save(
      OAuthClient.create({
        clientId: DEMO_CLIENT_ID,
        clientSecret: await this.hasher.hash(DEMO_CLIENT_SECRET),
        grantTypes: 'client_credentials',
        scope: DEMO_CLIENT_SCOPE,
      }),
    );
    this.logger.warn(
      `No clients were registered: created the demo client ${DEMO_CLIENT_ID} / ${DEMO_CLIENT_SECRET} ` +
        `(scope "${DEMO_CLIENT_SCOPE}"); delete it with 'nest-oauth2 client delete ${DEMO_CLIENT_ID}' before going live`,
    );
  }
}
