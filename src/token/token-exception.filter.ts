import {
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  Inject,
  Optional,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { STATUS_CODES } from 'node:http';
import { isBusy, OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2ErrorRenderer } from '../errors/oauth2-error.renderer.js';
import { MalformedRequestError } from '../http/http-request.js';
import type { OAuth2TokenRequestOutcome } from '../observability/metrics.js';
import { OAuth2Metrics } from '../observability/metrics.js';
import { OAUTH2_ROUTES, type OAuth2Routes } from './discovery.controller.js';

/**
 * Everything the token endpoint throws leaves as an OAuth 2.0 JSON error with no-store headers (RFC 6749 §5.1,
 * §5.2): never Nest's `{statusCode, message}` body, never a stack. Scoped to the token controller: the host
 * app's routes keep their own error handling. Every refused token request passes here (the guard's refusals
 * too), so this is where `OAuth2Metrics.tokenRequest()` counts them.
 */
@Catch()
export class TokenExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OAuth2');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly renderer: OAuth2ErrorRenderer,
    private readonly metrics: OAuth2Metrics,
    @Optional() @Inject(OAUTH2_ROUTES) private readonly routes?: OAuth2Routes,
  ) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const refusal = this.toOAuth2Error(error);
    // The filter serves the revocation and introspection endpoints as well: only the token endpoint counts.
    // Nest gives a filter no handler or class for a route's errors, so the path tells which endpoint it is.
    const request = host.switchToHttp().getRequest();
    if (this.routes && pathEndsWith(this.adapterHost, request, this.routes.tokenPath)) {
      this.metrics.tokenRequest(tokenRequestOutcome(refusal));
    }
    renderTokenError(this.adapterHost, this.renderer, host.switchToHttp().getResponse(), refusal);
  }

  private toOAuth2Error(error: unknown): OAuth2Error {
    if (error instanceof OAuth2Error) return error;
    if (error instanceof MalformedRequestError) {
      return OAuth2Error.invalidRequest(error.message, error.status);
    }
    if (error instanceof HttpException && error.getStatus() < HttpStatus.INTERNAL_SERVER_ERROR) {
      // Another guard of the host app (a rate limiter's 429, a 403): keep its status, and the headers it set
      // (Retry-After), in an OAuth-shaped body.
      return OAuth2Error.refusedByHost(error.getStatus(), STATUS_CODES[error.getStatus()]);
    }
    this.logger.error(
      `Token request failed: ${error instanceof Error ? error.name : 'unknown error'}`,
      { event: 'oauth2.token.request_failed' },
      error instanceof Error ? error.stack : undefined,
    );
    return OAuth2Error.serverError();
  }
}

/** RFC 6749 §5.2 codes a token request can end with, each its own outcome. */
const ERROR_OUTCOMES: ReadonlySet<string> = new Set<OAuth2TokenRequestOutcome>([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
]);

/** How a refused token request ended, for `OAuth2Metrics.tokenRequest()`. */
export function tokenRequestOutcome(error: OAuth2Error): OAuth2TokenRequestOutcome {
  const status = error.getStatus();
  // RFC 6585 §4: our failed-authentication throttling, or a host app's rate limiter on the route.
  if (status === HttpStatus.TOO_MANY_REQUESTS) return 'throttled';
  if (status === HttpStatus.SERVICE_UNAVAILABLE) return isBusy(error) ? 'busy' : 'unavailable';
  if (status < HttpStatus.INTERNAL_SERVER_ERROR && error.error && ERROR_OUTCOMES.has(error.error)) {
    return error.error as OAuth2TokenRequestOutcome;
  }
  return 'server_error';
}

/** A route path as the filters compare it: one leading slash, none trailing. */
const pathSuffix = (path: string): string => `/${path.replace(/^\/+|\/+$/g, '')}`;

/** Whether the request's path (query left out) ends with the route `path`. */
export function pathEndsWith(
  { httpAdapter }: HttpAdapterHost,
  request: unknown,
  path: string,
): boolean {
  const requestPath = httpAdapter.getRequestUrl(request).split('?', 1)[0].replace(/\/+$/, '');
  return requestPath.endsWith(pathSuffix(path));
}

/** Writes a token endpoint error: status, the renderer's headers and the RFC 6749 §5.2 body. */
export function renderTokenError(
  { httpAdapter }: HttpAdapterHost,
  renderer: OAuth2ErrorRenderer,
  response: unknown,
  error: OAuth2Error,
): void {
  for (const [name, value] of Object.entries(renderer.headers(error, 'token-endpoint'))) {
    httpAdapter.setHeader(response, name, value);
  }
  httpAdapter.reply(response, error.body, error.getStatus());
}
