import { Controller, Get, Inject, NotFoundException, Req, Res, type Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ClientAuthMethods } from '../client-auth/client-auth-methods.js';
import { CLIENT_ASSERTION_ALGORITHMS } from '../client-auth/client-key-sets.js';
import { OAuth2KeyRing } from '../keys/key-ring.js';
import type { JsonWebKeySet } from '../keys/signing-key-set.js';
import { OAuth2Config } from '../oauth2-config.js';
import { OAuth2Public } from '../resource/oauth2-public.decorator.js';
import { CLIENT_CREDENTIALS_GRANT } from './token-request.js';

/** RFC 8414 §3: the well-known URI suffix of authorization server metadata. */
const WELL_KNOWN = '.well-known/oauth-authorization-server';

/**
 * The issuer is known only once the (possibly async) options are, after the routes are fixed, so the routes
 * take an issuer path of up to four segments and the handler compares it. Named segments, not a wildcard:
 * Nest's Fastify adapter refuses `{*path}`, and Express needs it for `*`.
 */
const WELL_KNOWN_ROUTES = [0, 1, 2, 3, 4].map((depth) =>
  [WELL_KNOWN, ...Array.from({ length: depth }, (_, i) => `:segment${i}`)].join('/'),
);

/** The paths the module serves, fixed when the module is defined. */
export interface OAuth2Routes {
  tokenPath: string;
  jwksPath: string;
  /** Undefined: no revocation endpoint (RFC 7009). */
  revocationPath?: string;
  /** Undefined: no introspection endpoint (RFC 7662). */
  introspectionPath?: string;
}
export const OAUTH2_ROUTES = 'OAUTH2:ROUTES';

/** The RFC 8414 §2 metadata this server publishes. */
export interface AuthorizationServerMetadata {
  issuer: string;
  token_endpoint: string;
  jwks_uri?: string;
  scopes_supported?: string[];
  response_types_supported: string[];
  grant_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  token_endpoint_auth_signing_alg_values_supported?: string[];
  revocation_endpoint?: string;
  revocation_endpoint_auth_methods_supported?: string[];
  revocation_endpoint_auth_signing_alg_values_supported?: string[];
  introspection_endpoint?: string;
  introspection_endpoint_auth_methods_supported?: string[];
  introspection_endpoint_auth_signing_alg_values_supported?: string[];
}

/**
 * An endpoint's URL: the issuer's origin and the route's path (RFC 8414 §2 wants absolute URLs). The token
 * endpoint's is also an audience a client assertion may name (RFC 7523 §3), so both read it from here.
 */
export function endpointUrl(issuer: string, path: string): string {
  return `${new URL(issuer).origin}/${path.replace(/^\/+/, '')}`;
}

/**
 * Discovery (RFC 8414) and the signing keys (RFC 7517) for clients and resource servers: where the token
 * endpoint and the keys are, and the public keys themselves. Both answers may be cached for `jwksMaxAge`.
 */
@OAuth2Public()
@Controller()
export class DiscoveryController {
  private readonly issuerPath: string;

  constructor(
    private readonly config: OAuth2Config,
    private readonly keyRing: OAuth2KeyRing,
    private readonly methods: ClientAuthMethods,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(OAUTH2_ROUTES) private readonly routes: OAuth2Routes,
  ) {
    this.issuerPath = new URL(config.issuer).pathname.replace(/\/+$/, '');
  }

  /**
   * RFC 8414 §3.1: for an issuer with a path, the well-known segment goes between host and path
   * (`/.well-known/oauth-authorization-server/tenant`); any other path is not ours.
   */
  @Get(WELL_KNOWN_ROUTES)
  metadata(@Req() request: unknown, @Res({ passthrough: true }) response: unknown): object {
    const url = this.adapterHost.httpAdapter.getRequestUrl(request).split('?', 1)[0];
    const suffix = decodeURI(url.slice(url.indexOf(WELL_KNOWN) + WELL_KNOWN.length)).replace(
      /\/+$/,
      '',
    );
    if (suffix !== this.issuerPath) throw new NotFoundException();
    this.cacheFor(response);
    const keys = this.keyRing.current;
    const methods = this.methods.supported;
    const { revocationPath, introspectionPath } = this.routes;
    const document: AuthorizationServerMetadata = {
      issuer: this.config.issuer,
      token_endpoint: this.url(this.routes.tokenPath),
      // HMAC keys are never published: resource servers must share the secret.
      ...(keys.publishable ? { jwks_uri: this.url(this.routes.jwksPath) } : {}),
      ...(this.config.scopesSupported
        ? { scopes_supported: [...this.config.scopesSupported] }
        : {}),
      // REQUIRED by §2; this server has no authorization endpoint, so it supports no response type.
      response_types_supported: [],
      grant_types_supported: [CLIENT_CREDENTIALS_GRANT],
      token_endpoint_auth_methods_supported: methods,
      ...this.assertionAlgorithms('token', methods),
      ...(revocationPath === undefined
        ? {}
        : {
            revocation_endpoint: this.url(revocationPath),
            revocation_endpoint_auth_methods_supported: methods,
            ...this.assertionAlgorithms('revocation', methods),
          }),
      ...(introspectionPath === undefined
        ? {}
        : {
            introspection_endpoint: this.url(introspectionPath),
            // The introspection endpoint refuses public clients (RFC 7662 §4).
            introspection_endpoint_auth_methods_supported: methods.filter((m) => m !== 'none'),
            ...this.assertionAlgorithms('introspection', methods),
          }),
    };
    return document;
  }

  /**
   * RFC 8414 §2: `<endpoint>_endpoint_auth_signing_alg_values_supported`, required once private_key_jwt is
   * listed, naming the algorithms its assertions may use.
   */
  private assertionAlgorithms(
    endpoint: 'token' | 'revocation' | 'introspection',
    methods: string[],
  ): Partial<AuthorizationServerMetadata> {
    return methods.includes('private_key_jwt')
      ? {
          [`${endpoint}_endpoint_auth_signing_alg_values_supported`]: [
            ...CLIENT_ASSERTION_ALGORITHMS,
          ],
        }
      : {};
  }

  /** The JWK Set (RFC 7517 §5): every public verification key in force, next, active and retired. */
  jwks(response: unknown): JsonWebKeySet {
    const keys = this.keyRing.current;
    if (!keys.publishable) throw new NotFoundException();
    this.cacheFor(response);
    return keys.jwks();
  }

  private cacheFor(response: unknown): void {
    this.adapterHost.httpAdapter.setHeader(
      response,
      'Cache-Control',
      `public, max-age=${this.config.jwksMaxAge}`,
    );
  }

  private url(path: string): string {
    return endpointUrl(this.config.issuer, path);
  }
}

/** The discovery controller with the JWKS served at `jwksPath`. */
export function createDiscoveryController(jwksPath: string): Type<DiscoveryController> {
  @Controller()
  class ConfiguredDiscoveryController extends DiscoveryController {
    @Get(jwksPath)
    serveJwks(@Res({ passthrough: true }) response: unknown): JsonWebKeySet {
      return this.jwks(response);
    }
  }
  Object.defineProperty(ConfiguredDiscoveryController, 'name', {
    value: DiscoveryController.name,
  });
  return ConfiguredDiscoveryController;
}
