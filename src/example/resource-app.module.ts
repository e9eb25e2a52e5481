import { Module, type DynamicModule } from '@nestjs/common';
import { OAuth2ResourceServerModule } from '../index.js';
import { ReportsController } from './reports.controller.js';
import { ReportsService } from './reports.service.js';
import { ResourceExampleConfig } from './resource-example-config.js';
import { WhoamiController } from './whoami.controller.js';

/**
 * The example resource server: the example's /api routes in a service with no database and no key, which
 * accepts the tokens of the issuer OAUTH2_ISSUER names by the keys it publishes.
 */
@Module({})
export class ResourceAppModule {
  static forConfig(config: ResourceExampleConfig): DynamicModule {
    return {
      module: ResourceAppModule,
      imports: [OAuth2ResourceServerModule.forRoot(config.moduleOptions())],
      controllers: [WhoamiController, ReportsController],
      providers: [ReportsService, { provide: ResourceExampleConfig, useValue: config }],
    };
  }
}
