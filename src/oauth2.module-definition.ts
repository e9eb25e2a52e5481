import {
  ConfigurableModuleBuilder,
  Inject,
  type DynamicModule,
  type InjectionToken,
  type OptionalFactoryDependency,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { OAUTH2_MODULE_OPTIONS } from './oauth2.constants.js';
import type {
  OAuth2ModuleExtras,
  OAuth2ModuleOptions,
  OAuth2ProviderOf,
} from './oauth2-options.interface.js';
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
  | 'eventSink'
  | 'imports';
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
  imports: undefined,
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
  const { dataSource, revocationPath, introspectionPath } = extras;
  // Replacements given as factories say which extra they belong to when what they inject is missing.
  const clientRepository = explained('clientRepository', extras.clientRepository);
  const keyStore = extras.keyStore === true ? true : explained('keyStore', extras.keyStore);
  const eventSink = explained('eventSink', extras.eventSink);
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
    imports: [...(definition.imports ?? []), ...(extras.imports ?? []), ...imports],
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

/**
 * A replacement given as `{ useFactory, inject }`, made to fail with an error that names the extra and the
 * missing token. Nest alone would report the module's internal token ("can't resolve dependencies of the
 * OAUTH2:CLIENT_STORE"), which a reader of the README cannot place. Each required token is injected as
 * optional, with the module's ModuleRef, and a required one that arrives `undefined` is looked up again
 * before the factory runs (see `isVisible`). Classes and values pass unchanged (Nest's own error names a
 * class), and so does `useExisting`: made a factory, the aliased instance would get its lifecycle hooks
 * (onModuleInit, onModuleDestroy) called a second time.
 */
function explained<T>(
  extra: string,
  given: OAuth2ProviderOf<T> | undefined,
): OAuth2ProviderOf<T> | undefined {
  if (given === undefined || typeof given === 'function' || !('useFactory' in given)) return given;
  const dependencies = given.inject ?? [];
  return {
    ...given,
    inject: [
      ...dependencies.map((dependency) =>
        isOptionalDependency(dependency) ? dependency : { token: dependency, optional: true },
      ),
      ModuleRef,
    ],
    useFactory: async (...injected: unknown[]) => {
      const moduleRef = injected.pop() as ModuleRef;
      const missing: InjectionToken[] = [];
      for (const [i, dependency] of dependencies.entries()) {
        if (injected[i] !== undefined || isOptionalDependency(dependency)) continue;
        if (!(await isVisible(moduleRef, dependency, extra))) missing.push(dependency);
      }
      if (missing.length > 0) throw new Error(missingDependencies(extra, missing));
      return given.useFactory(...injected);
    },
  };
}

/**
 * Whether the module sees `token`, for a dependency Nest injected as `undefined`. An optional dependency is
 * `undefined` for three reasons, which Nest does not tell apart: no module in sight provides it; its provider
 * gave `undefined` (`useFactory: () => process.env.VAULT_URL`), which a required dependency may be; or its
 * provider threw ("vault down"), an error Nest drops for an optional dependency. So the token is asked for
 * once more, required this time, by a class `moduleRef.create()` builds in the module's context: Nest's own
 * lookup, with its rules of what a module sees (its providers, its imports' exports, global modules). It
 * finds nothing: an UnknownDependenciesException of that class, the one answer `false`. It finds the
 * provider: the instance Nest already has, `undefined` included, or the provider's own error, thrown again.
 */
async function isVisible(
  moduleRef: ModuleRef,
  token: InjectionToken,
  extra: string,
): Promise<boolean> {
  class Lookup {
    constructor(@Inject(token) readonly value: unknown) {}
  }
  const name = `OAuth2Module's ${extra} looking up ${nameOf(token)}`;
  Object.defineProperty(Lookup, 'name', { value: name });
  try {
    await moduleRef.create(Lookup);
    return true;
  } catch (error) {
    // Nest's exception names the class whose argument it could not find (`type`); only ours means `token`.
    if ((error as { type?: unknown } | null)?.type === name) return false;
    throw error;
  }
}

const nameOf = (token: InjectionToken | OptionalFactoryDependency): string =>
  typeof token === 'function' ? token.name : String(token as string | symbol);

function isOptionalDependency(
  dependency: InjectionToken | OptionalFactoryDependency,
): dependency is OptionalFactoryDependency {
  return typeof dependency === 'object' && dependency !== null && 'token' in dependency;
}

function missingDependencies(
  extra: string,
  missing: ReadonlyArray<InjectionToken | OptionalFactoryDependency>,
): string {
  const names = missing.map(nameOf);
  return (
    `OAuth2Module: the ${extra} provider injects ${names.join(', ')}, which OAuth2Module cannot see. ` +
    'Pass the module that provides and exports it as `imports`: next to ' +
    `${extra} in forRoot({ ..., imports: [YourModule], ${extra} }), or in forRootAsync({ imports: [YourModule], ... }).`
  );
}
