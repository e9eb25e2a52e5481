import type { OAuth2LogFields } from '../observability/log-fields.js';
import { loggableUrl, type OAuth2StartupLine } from '../observability/startup-log.js';
import type { OAuth2ResourceServerConfig } from './oauth2-resource-server-config.js';

/**
 * OAuth2ResourceServerModule's start-up line (event `oauth2.startup.resource_server_configured`): the issuer
 * and audience it accepts tokens of, where it reads the keys (a JWKS URL, or the issuer's metadata), the
 * algorithms, and the introspection endpoint and client id when tokens are introspected (RFC 7662). Never the
 * introspection client's secret.
 */
export function describeResourceServer(config: OAuth2ResourceServerConfig): OAuth2StartupLine {
  const { introspection } = config;
  const fields = {
    event: 'oauth2.startup.resource_server_configured',
    issuer: config.issuer,
    audience: config.audience,
    jwksUri: config.jwksUri === undefined ? null : loggableUrl(config.jwksUri),
    metadataUrl: config.metadataUrl === undefined ? null : loggableUrl(config.metadataUrl),
    algorithms: config.algorithms,
    introspection: introspection !== undefined,
    ...(introspection
      ? {
          introspectionEndpoint:
            introspection.endpoint === undefined ? null : loggableUrl(introspection.endpoint),
          introspectionClientId: introspection.clientId,
        }
      : {}),
  } satisfies OAuth2LogFields;
  const keys = fields.jwksUri ?? `the jwks_uri of ${fields.metadataUrl}`;
  const introspected = introspection
    ? `; tokens introspected at ${fields.introspectionEndpoint ?? 'the introspection_endpoint of the metadata'}`
    : '';
  return {
    message:
      `Resource server for ${config.issuer} (audience ${config.audience.join(' ')}): keys from ${keys}, ` +
      `${config.algorithms.join('/')}${introspected}`,
    fields,
  };
}
