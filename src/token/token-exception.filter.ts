import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { BodyParserRefusal, renderOAuth2Error } from '../errors/oauth2-exception.filter.js';
import { NO_STORE_HEADERS } from '../oauth2.constants.js';

/**
 * Everything the token endpoint throws leaves as an OAuth 2.0 JSON error with no-store headers (RFC 6749 §5.1,
 * §5.2): never Nest's `{statusCode, message}` body, never a stack.
 */
@Catch()
export class TokenExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OAuth2');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse();
    renderOAuth2Error(
      this.adapterHost.httpAdapter,
      response,
      this.toOAuth2Error(error),
      NO_STORE_HEADERS,
    );
  }

  private toOAuth2Error(error: unknown): OAuth2Error {
    if (error instanceof OAuth2Error) return error;
    if (error instanceof HttpException && error.getStatus() < HttpStatus.INTERNAL_SERVER_ERROR) {
      if (error instanceof BodyParserRefusal) return OAuth2Error.unreadableBody(error.getStatus());
      // Another guard of the host app (a rate limiter's 429, a 403): keep its status, and the headers it set
      // (Retry-After), in an OAuth-shaped body.
      return OAuth2Error.refusedByHost(error.getStatus());
    }
    this.logger.error(
      `Token request failed: ${error instanceof Error ? error.name : 'unknown error'}`,
      error instanceof Error ? error.stack : undefined,
    );
    return OAuth2Error.serverError();
  }
}
