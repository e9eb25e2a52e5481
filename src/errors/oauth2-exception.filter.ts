import { ArgumentsHost, Catch, ExceptionFilter, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { OAuth2Error } from './oauth2-error.js';

/**
 * Renders an OAuth2Error: its status, its headers (`WWW-Authenticate`, `Allow`, `Retry-After`) and the JSON body
 * of RFC 6749 §5.2 / RFC 6750 §3. Registered app-wide by OAuth2Module, so the bearer guard answers correctly
 * even when it runs as a global guard; it catches nothing but OAuth2Error.
 */
@Catch(OAuth2Error)
@Injectable()
export class OAuth2ExceptionFilter implements ExceptionFilter<OAuth2Error> {
  constructor(protected readonly adapterHost: HttpAdapterHost) {}

  catch(error: OAuth2Error, host: ArgumentsHost): void {
    const adapter = this.adapterHost.httpAdapter;
    const response = host.switchToHttp().getResponse();
    for (const [name, value] of Object.entries(error.headers)) {
      adapter.setHeader(response, name, value);
    }
    adapter.reply(response, error.body, error.getStatus());
  }
}
