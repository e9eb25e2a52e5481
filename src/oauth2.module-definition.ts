import { ConfigurableModuleBuilder, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { oauth2Entities } from './migrations/oauth2-migrations.js';
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
  const [entity, keyEntity, secretEntity] = oauth2Entities(extras);
  const { providers, exports } = oauth2Providers({
    routes: { tokenPath, jwksPath, revocationPath, introspectionPath },
    clientRepository,
    keyStore,
    dataSource,
    eventSink,
    entity,
    keyEntity,
    secretEntity,
  });
  // Only the TypeORM storage in use needs its entity's repository, and a DataSource at all.
  const entities = [
    ...(clientRepository === undefined ? [entity, secretEntity] : []),
    ...(keyStore === true ? [keyEntity] : []),
  ];
  return {
    ...definition,
    global: extras.isGlobal ?? EXTRAS.isGlobal,
    imports: [
      ...(definition.imports ?? []),
      ...(entities.length > 0 ? [TypeOrmModule.forFeature(entities, dataSource)] : []),
    ],
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
