import {
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { STATUS_CODES } from 'node:http';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2ErrorRenderer } from '../errors/oauth2-error.renderer.js';
import { MalformedRequestError } from '../http/http-request.js';

/**
 * Everything the token endpoint throws leaves as an OAuth 2.0 JSON error with no-store headers (RFC 6749 §5.1,
 * §5.2): never Nest's `{statusCode, message}` body, never a stack. Scoped to the token controller: the host
 * app's routes keep their own error handling.
 */
@Catch()
export class TokenExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OAuth2');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly renderer: OAuth2ErrorRenderer,
  ) {}

  catch(error: unknown, host: ArgumentsHost): void {
    renderTokenError(
      this.adapterHost,
      this.renderer,
      host.switchToHttp().getResponse(),
      this.toOAuth2Error(error),
    );
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
      error instanceof Error ? error.stack : undefined,
    );
    return OAuth2Error.serverError();
  }
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
