import { Logger, type DynamicModule, type Provider } from '@nestjs/common';
import { OAuth2ErrorRenderer } from '../errors/oauth2-error.renderer.js';
import { AccessTokenVerifier } from '../resource/access-token.verifier.js';
import { OAuth2Guard } from '../resource/oauth2.guard.js';
import { OAuth2GuardOptions } from '../resource/oauth2-guard-options.js';
import { JwksCache } from '../keys/jwks-cache.js';
import { createOAuth2Metrics, OAuth2Metrics } from '../observability/metrics.js';
import { OAuth2StartupLog } from '../observability/startup-log.js';
import { OAuth2ResourceServerConfig } from './oauth2-resource-server-config.js';
import { OAUTH2_RESOURCE_SERVER_OPTIONS } from './oauth2-resource-server.constants.js';
import type { OAuth2ResourceServerOptions } from './oauth2-resource-server-options.interface.js';
import { describeResourceServer } from './oauth2-resource-server.startup-log.js';
import { RemoteAccessTokenVerifier } from './remote-access-token.verifier.js';
import { TokenIntrospector } from './token-introspector.js';

/**
 * Every provider of OAuth2ResourceServerModule, and what it exports: the same OAuth2Guard as OAuth2Module's,
 * with a verifier that reads the issuer's published keys.
 */
export const resourceServerProviders: Provider[] = [
  {
    provide: OAuth2ResourceServerConfig,
    useFactory: (options: OAuth2ResourceServerOptions) => new OAuth2ResourceServerConfig(options),
    inject: [OAUTH2_RESOURCE_SERVER_OPTIONS],
  },
  { provide: OAuth2GuardOptions, useExisting: OAuth2ResourceServerConfig },
  {
    provide: OAuth2ErrorRenderer,
    useFactory: (config: OAuth2ResourceServerConfig) =>
      new OAuth2ErrorRenderer(config.realm, config.resourceMetadataUrl),
    inject: [OAuth2ResourceServerConfig],
  },
  { provide: OAuth2Metrics, useFactory: createOAuth2Metrics },
  {
    provide: JwksCache,
    useFactory: (config: OAuth2ResourceServerConfig, metrics: OAuth2Metrics) =>
      new JwksCache(config, fetch, undefined, metrics),
    inject: [OAuth2ResourceServerConfig, OAuth2Metrics],
  },
  {
    provide: AccessTokenVerifier,
    useFactory: (config: OAuth2ResourceServerConfig, keys: JwksCache) =>
      new RemoteAccessTokenVerifier(
        config,
        keys,
        config.introspection &&
          new TokenIntrospector({ ...config, introspection: config.introspection }),
      ),
    inject: [OAuth2ResourceServerConfig, JwksCache],
  },
  OAuth2Guard,
  {
    provide: OAuth2StartupLog,
    useFactory: (config: OAuth2ResourceServerConfig) =>
      new OAuth2StartupLog(
        () => describeResourceServer(config),
        new Logger('OAuth2ResourceServer'),
      ),
    inject: [OAuth2ResourceServerConfig],
  },
];

export const resourceServerExports: NonNullable<DynamicModule['exports']> = [
  OAuth2ResourceServerConfig,
  OAuth2GuardOptions,
  OAuth2ErrorRenderer,
  AccessTokenVerifier,
  OAuth2Guard,
  OAuth2Metrics,
];
