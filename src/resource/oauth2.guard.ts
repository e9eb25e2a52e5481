import { hasQueryParameter } from '../http/query.js';
import { Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2ErrorRenderer } from '../errors/oauth2-error.renderer.js';
import { parseAuthorization, parseBearerCredentials } from '../http/authorization.js';
import { formParameter, isFormRequest } from '../http/form-body.js';
import { MalformedRequestError, type OAuth2HttpRequest } from '../http/http-request.js';
import { OAuth2Metrics } from '../observability/metrics.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { OAuth2GuardOptions } from './oauth2-guard-options.js';
import { OAUTH2_PUBLIC_METADATA } from './oauth2-public.decorator.js';
import { PRINCIPAL } from './principal.js';
import { OAUTH2_SCOPES_METADATA } from './scopes.decorator.js';
import { verificationOutcomeOf } from './verification-outcome.js';
import { graphqlResponse, OAuth2GraphQLError } from './graphql-operation.js';
import { loadRpcException, rpcRefusal } from './rpc-message.js';
import { requestOf, type OAuth2Transport } from './transport-request.js';

export { principalOf } from './principal.js';

/** Whether a response's headers went out: Node's `headersSent`, on Fastify's reply as `raw.headersSent`. */
function headersSent(response: unknown): boolean {
  if (typeof response !== 'object' || response === null) return false;
  const { headersSent: sent, raw } = response as {
    headersSent?: unknown;
    raw?: { headersSent?: unknown };
  };
  return sent === true || raw?.headersSent === true;
}

/** What OAuth2Guard needs of a route's decorators. */
export interface OAuth2Route {
  /** `@OAuth2Public()`: no token asked. */
  readonly public: boolean;
  /** Every scope `@Scopes()` requires of the token, each once. */
  readonly scopes: readonly string[];
}

/**
 * Protects routes with access tokens (RFC 6750). Use it per route, per controller (`@UseGuards(OAuth2Guard)`)
 * or app-wide (`APP_GUARD`, with `@OAuth2Public()` on open routes). Subclass it and override the protected
 * hooks to read the token or the request differently.
 *
 * A refusal sets its `WWW-Authenticate` challenge on the response and throws the OAuth2Error: the host app's
 * own exception handling renders status and body, as it does for every other route of the app (the way
 * @nestjs/throttler sets `Retry-After` from its guard).
 *
 * It guards GraphQL resolvers (the token of the HTTP request behind the operation; a refusal is a GraphQL
 * error with `extensions.code`) and microservice handlers (the token of the message's headers; a refusal is
 * an RpcException the client receives) the same way.
 */
@Injectable()
export class OAuth2Guard implements CanActivate {
  /** Each controller's routes, as `routeOf()` read them. */
  private readonly routes = new WeakMap<object, WeakMap<object, OAuth2Route>>();

  constructor(
    protected readonly reflector: Reflector,
    protected readonly verifier: AccessTokenVerifier,
    protected readonly options: OAuth2GuardOptions,
    protected readonly renderer: OAuth2ErrorRenderer,
    protected readonly adapterHost: HttpAdapterHost,
    /** Counts each verification by outcome; a subclass that does not pass it records nothing. */
    @Optional() protected readonly metrics: OAuth2Metrics = new OAuth2Metrics(),
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const route = this.routeOf(context);
    if (route.public) return true;
    // Loaded before the first refusal of a message, which must be an RpcException to reach the client.
    if (context.getType<OAuth2Transport>() === 'rpc') await loadRpcException();
    try {
      // Inside: a message whose token came two ways is refused, and counted, like any malformed request.
      const request = this.getRequest(context);
      const token = this.extractToken(request);
      if (token === undefined) throw OAuth2Error.missingToken();
      const principal = await this.verifier.verify(token);
      const held = principal.scopes;
      for (const scope of route.scopes) {
        if (!held.includes(scope)) throw OAuth2Error.insufficientScope([...route.scopes]);
      }
      request[PRINCIPAL] = principal;
      this.metrics.verification(this.verifier.kind, 'valid');
      return true;
    } catch (error) {
      // Once per request: every refusal passes here, whoever decided it.
      this.metrics.verification(this.verifier.kind, verificationOutcomeOf(error));
      throw this.refuse(context, error);
    }
  }

  /**
   * What the route's decorators say: `@OAuth2Public()` (the handler's overrides the controller's) and the
   * scopes `@Scopes()` requires (the handler's and the controller's together, each once). Decorators are
   * applied when the class is defined, so this is read from the Reflector once per controller and handler.
   */
  protected routeOf(context: ExecutionContext): OAuth2Route {
    const controller = context.getClass();
    const handler = context.getHandler();
    let routes = this.routes.get(controller);
    if (routes === undefined) this.routes.set(controller, (routes = new WeakMap()));
    let route = routes.get(handler);
    if (route === undefined) {
      const targets = [handler, controller];
      route = {
        public: Boolean(this.reflector.getAllAndOverride<boolean>(OAUTH2_PUBLIC_METADATA, targets)),
        scopes: [
          ...new Set(this.reflector.getAllAndMerge<string[]>(OAUTH2_SCOPES_METADATA, targets)),
        ],
      };
      routes.set(handler, route);
    }
    return route;
  }

  /**
   * The HTTP request of a route or of a GraphQL operation (`req` of the GraphQL context); for a microservice
   * message, a request whose `authorization` header is the message's (see `rpcRequest`).
   */
  protected getRequest(context: ExecutionContext): OAuth2HttpRequest {
    return requestOf(context);
  }

  /**
   * The bearer token, from the Authorization header (RFC 6750 §2.1) or, when enabled, a form-encoded POST body
   * (§2.2). Never from the query string (§2.3; RFC 9700 §4.3.2 advises against it). Sending it by more than
   * one method, a query-string `access_token` included, is an invalid_request (§2).
   */
  protected extractToken(request: OAuth2HttpRequest): string | undefined {
    const authorization = parseAuthorization(request.headers.authorization);
    const fromHeader =
      authorization?.scheme === 'bearer'
        ? parseBearerCredentials(authorization.credentials)
        : undefined;
    const fromBody = this.tokenFromBody(request);
    // A query-string token is never used, but one sent beside another is a second method all the same.
    const methods = [fromHeader, fromBody].filter((token) => token !== undefined).length;
    if (methods > 1 || (methods === 1 && hasQueryParameter(request, 'access_token'))) {
      throw new MalformedRequestError('The access token was sent by more than one method');
    }
    return fromHeader ?? fromBody;
  }

  /**
   * Sets the error's challenge on the HTTP response (of the route, or of the GraphQL operation where it has
   * one) and returns what to throw: the OAuth2Error over HTTP, an OAuth2GraphQLError in a resolver, an
   * RpcException in a microservice handler. Anything but an OAuth2Error is returned as it is.
   */
  protected refuse(context: ExecutionContext, error: unknown): unknown {
    const refusal =
      error instanceof MalformedRequestError ? OAuth2Error.invalidRequest(error.message) : error;
    if (!(refusal instanceof OAuth2Error)) return refusal;
    switch (context.getType<OAuth2Transport>()) {
      case 'http':
        this.setHeaders(context.switchToHttp().getResponse(), refusal);
        return refusal;
      case 'graphql':
        this.setHeaders(graphqlResponse(context), refusal);
        return new OAuth2GraphQLError(refusal);
      case 'rpc':
        return rpcRefusal(context, refusal);
      default:
        return refusal;
    }
  }

  /**
   * The challenge and Retry-After on the response, unless its headers are already sent (a GraphQL operation
   * answered by incremental delivery shares one response): the refusal itself still reaches the caller, in the
   * body, and a header that cannot be set never replaces it with an internal error.
   */
  private setHeaders(response: unknown, refusal: OAuth2Error): void {
    const { httpAdapter } = this.adapterHost;
    if (response === undefined || httpAdapter === undefined || headersSent(response)) return;
    try {
      for (const [name, value] of Object.entries(
        this.renderer.headers(refusal, 'protected-resource'),
      )) {
        httpAdapter.setHeader(response, name, value);
      }
    } catch {
      // The response went out meanwhile (or the platform refused the header): the refusal stands as it is.
    }
  }

  private tokenFromBody(request: OAuth2HttpRequest): string | undefined {
    if (
      !this.options.allowAccessTokenInBody ||
      request.method !== 'POST' ||
      !isFormRequest(request) ||
      typeof request.body !== 'object' ||
      request.body === null
    ) {
      return undefined;
    }
    return formParameter(request.body as Record<string, unknown>, 'access_token');
  }
}
