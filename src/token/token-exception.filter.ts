import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2ExceptionFilter } from '../errors/oauth2-exception.filter.js';
import { NO_STORE_HEADERS } from '../oauth2.constants.js';

/**
 * Everything the token endpoint throws leaves as an OAuth 2.0 JSON error with no-store headers (RFC 6749 §5.1,
 * §5.2): never Nest's `{statusCode, message}` body, never a stack.
 */
@Catch()
export class TokenExceptionFilter extends OAuth2ExceptionFilter {
  private readonly logger = new Logger('OAuth2');

  override catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse();
    const adapter = this.adapterHost.httpAdapter;
    for (const [name, value] of Object.entries(NO_STORE_HEADERS)) {
      adapter.setHeader(response, name, value);
    }
    super.catch(this.toOAuth2Error(error), host);
  }

  private toOAuth2Error(error: unknown): OAuth2Error {
    if (error instanceof OAuth2Error) return error;
    if (error instanceof HttpException && error.getStatus() < HttpStatus.INTERNAL_SERVER_ERROR) {
      // A platform refusal that reached Nest (payload too large, malformed body): a client error.
      return OAuth2Error.invalidRequest('The request could not be read', error.getStatus());
    }
    this.logger.error(
      `Token request failed: ${error instanceof Error ? error.name : 'unknown error'}`,
      error instanceof Error ? error.stack : undefined,
    );
    return OAuth2Error.serverError();
  }
}
