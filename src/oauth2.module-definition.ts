import { ConfigurableModuleBuilder, type DynamicModule } from '@nestjs/common';
import { OAUTH2_MODULE_OPTIONS } from './oauth2.constants.js';
import type { OAuth2ModuleExtras, OAuth2ModuleOptions } from './oauth2-options.interface.js';
import { oauth2Providers } from './oauth2.providers.js';
import { createDiscoveryController } from './token/discovery.controller.js';
import { IntrospectionController } from './token/introspection.controller.js';
import { servedAt } from './token/post-endpoint.js';
import { RevocationController } from './token/revocation.controller.js';
import { createTokenController } from './token/token.controller.js';

/** Every extra with its default: ConfigurableModuleBuilder keeps exactly these keys out of the options. */
type OptionalExtra =
  | 'clientRepository'
  | 'keyStore'
  | 'dataSource'
  | 'revocationPath'
  | 'introspectionPath'
  | 'eventSink';
const EXTRAS: Required<Omit<OAuth2ModuleExtras, OptionalExtra>> &
  Pick<OAuth2ModuleExtras, OptionalExtra> = {
  isGlobal: false,
  tokenPath: 'oauth2/token',
  jwksPath: 'oauth2/jwks',
  tableName: 'oauth_clients',
  tablePrefix: '',
  clientRepository: undefined,
  keyStore: undefined,
  dataSource: undefined,
  revocationPath: undefined,
  introspectionPath: undefined,
  eventSink: undefined,
};

export const {
  ConfigurableModuleClass: ConfigurableOAuth2Module,
  OPTIONS_TYPE: OAUTH2_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: OAUTH2_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<OAuth2ModuleOptions>({
  optionsInjectionToken: OAUTH2_MODULE_OPTIONS,
  moduleName: 'OAuth2',
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createOAuth2Options')
  .setExtras<OAuth2ModuleExtras>(EXTRAS, withParts)
  .build();

/** The controller, providers and imports that the extras shape, added to the builder's definition. */
function withParts(definition: DynamicModule, extras: OAuth2ModuleExtras): DynamicModule {
  const { clientRepository, keyStore, dataSource, revocationPath, introspectionPath, eventSink } =
    extras;
  const tokenPath = extras.tokenPath ?? EXTRAS.tokenPath;
  const jwksPath = extras.jwksPath ?? EXTRAS.jwksPath;
  const { providers, exports, imports } = oauth2Providers({
    routes: { tokenPath, jwksPath, revocationPath, introspectionPath },
    clientRepository,
    keyStore,
    dataSource,
    eventSink,
    tables: { tableName: extras.tableName, tablePrefix: extras.tablePrefix },
  });
  return {
    ...definition,
    global: extras.isGlobal ?? EXTRAS.isGlobal,
    // Only the TypeORM storage in use imports its repositories, and needs a DataSource at all.
    imports: [...(definition.imports ?? []), ...imports],
    controllers: [
      createTokenController(tokenPath),
      createDiscoveryController(jwksPath),
      // RFC 7009 and RFC 7662 endpoints only where the app asks for them.
      ...(revocationPath === undefined ? [] : [servedAt(RevocationController, revocationPath)]),
      ...(introspectionPath === undefined
        ? []
        : [servedAt(IntrospectionController, introspectionPath)]),
    ],
    providers: [...(definition.providers ?? []), ...providers],
    exports: [...(definition.exports ?? []), ...exports],
  };
}
