import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import {
  ClientSecretHasher,
  OAuthClient,
  OAuthClientRepository,
  oauth2TableNames,
} from '../index.js';
import { ExampleConfig } from './example-config.js';
import { MigrationLog } from './migration-log.js';

export const DEMO_CLIENT_ID = 'testclient';
export const DEMO_CLIENT_SECRET = 'testpass';
export const DEMO_CLIENT_SCOPE = 'reports:read reports:write';

/**
 * Registers the demo client testclient when this start created the database (its client table), so the
 * README's curl commands work on a fresh database. Its secret is the seed's `testpass`, shorter than a chosen
 * secret may be (it is the seed's, imported as a legacy secret); it is never logged: the README names it. A
 * database that existed before, emptied or not, gets no client from here.
 */
@Injectable()
export class DemoClientSeeder implements OnApplicationBootstrap {
  private readonly logger = new Logger('ExampleDemoClient');

  constructor(
    private readonly clients: OAuthClientRepository,
    private readonly hasher: ClientSecretHasher,
    private readonly migrations: MigrationLog,
    private readonly config: ExampleConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.migrations.created(oauth2TableNames(this.config).clients)) return;
    if ((await this.clients.list()).length > 0) return;
    await this.clients.save(
      OAuthClient.create({
        clientId: DEMO_CLIENT_ID,
        clientSecret: await this.hasher.hash(DEMO_CLIENT_SECRET, { legacyImport: true }),
        grantTypes: 'client_credentials',
        scope: DEMO_CLIENT_SCOPE,
      }),
    );
    this.logger.warn(
      `A new database: created the demo client ${DEMO_CLIENT_ID} (scope "${DEMO_CLIENT_SCOPE}", its ` +
        `secret in the README); delete it with 'npx nest-oauth2 client delete ${DEMO_CLIENT_ID}' before going live`,
      { event: 'example.demo_client.created', clientId: DEMO_CLIENT_ID },
    );
  }
}
