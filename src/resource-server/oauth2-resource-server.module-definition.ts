import { ConfigurableModuleBuilder, type DynamicModule } from '@nestjs/common';
import { OAUTH2_RESOURCE_SERVER_OPTIONS } from './oauth2-resource-server.constants.js';
import type {
  OAuth2ResourceServerExtras,
  OAuth2ResourceServerOptions,
} from './oauth2-resource-server-options.interface.js';
import {
  resourceServerExports,
  resourceServerProviders,
} from './oauth2-resource-server.providers.js';
import { createProtectedResourceMetadataController } from './protected-resource-metadata.controller.js';

/** Every extra with its default: ConfigurableModuleBuilder keeps exactly these keys out of the options. */
const EXTRAS: Required<OAuth2ResourceServerExtras> = {
  isGlobal: false,
  resourceMetadataPath: '.well-known/oauth-protected-resource',
};

export const {
  ConfigurableModuleClass: ConfigurableOAuth2ResourceServerModule,
  OPTIONS_TYPE: OAUTH2_RESOURCE_SERVER_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: OAUTH2_RESOURCE_SERVER_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<OAuth2ResourceServerOptions>({
  optionsInjectionToken: OAUTH2_RESOURCE_SERVER_OPTIONS,
  moduleName: 'OAuth2ResourceServer',
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createOAuth2ResourceServerOptions')
  .setExtras<OAuth2ResourceServerExtras>(EXTRAS, withParts)
  .build();

/** The metadata route and the providers, added to the builder's definition. */
function withParts(definition: DynamicModule, extras: OAuth2ResourceServerExtras): DynamicModule {
  return {
    ...definition,
    global: extras.isGlobal ?? EXTRAS.isGlobal,
    controllers: [
      createProtectedResourceMetadataController(
        extras.resourceMetadataPath ?? EXTRAS.resourceMetadataPath,
      ),
    ],
    providers: [...(definition.providers ?? []), ...resourceServerProviders],
    exports: [...(definition.exports ?? []), ...resourceServerExports],
  };
}
