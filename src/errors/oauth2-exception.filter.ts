import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  Inject,
  Injectable,
  Optional,
} from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost, type AbstractHttpAdapter } from '@nestjs/core';
import { NO_STORE_HEADERS, OAUTH2_TOKEN_PATH } from '../oauth2.constants.js';
import { OAuth2Error } from './oauth2-error.js';

/**
 * Matches what Nest makes of a platform's refusal to read a body: an HttpException caused by body-parser's
 * http-errors (`type` 'entity.too.large', 'parameters.too.many', 'entity.parse.failed', …) on Express, or by a
 * Fastify content-type parser error (`FST_ERR_CTP_*`: too large, unsupported media type, …). Both happen
 * before routing, so only an app-wide filter sees them.
 */
export class BodyParserRefusal {
  static [Symbol.hasInstance](value: unknown): boolean {
    if (!(value instanceof HttpException)) return false;
    const cause = value.cause as
      { type?: unknown; code?: unknown; statusCode?: unknown } | undefined;
    if (typeof cause?.statusCode !== 'number') return false;
    return (
      typeof cause.type === 'string' ||
      (typeof cause.code === 'string' && cause.code.startsWith('FST_ERR_CTP_'))
    );
  }
}

/** Writes an OAuth2Error: status, headers and the JSON body of RFC 6749 §5.2 / RFC 6750 §3. */
export function renderOAuth2Error(
  adapter: AbstractHttpAdapter,
  response: unknown,
  error: OAuth2Error,
  extraHeaders: Readonly<Record<string, string>> = {},
): void {
  for (const [name, value] of Object.entries({ ...extraHeaders, ...error.headers })) {
    adapter.setHeader(response, name, value);
  }
  adapter.reply(response, error.body, error.getStatus());
}

/**
 * Registered app-wide by OAuth2Module, so the bearer guard answers correctly even as a global guard. It
 * catches OAuth2Error, and a body parser's refusal of a token request (which happens before routing); a body
 * parser's refusal elsewhere gets Nest's usual answer.
 */
@Catch(OAuth2Error, BodyParserRefusal)
@Injectable()
export class OAuth2ExceptionFilter implements ExceptionFilter<OAuth2Error | HttpException> {
  private readonly tokenPathSuffix: string | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Optional() @Inject(OAUTH2_TOKEN_PATH) tokenPath?: string,
  ) {
    this.tokenPathSuffix =
      tokenPath === undefined ? undefined : `/${tokenPath.replace(/^\/+|\/+$/g, '')}`;
  }

  catch(error: OAuth2Error | HttpException, host: ArgumentsHost): void {
    const adapter = this.adapterHost.httpAdapter;
    const http = host.switchToHttp();
    if (error instanceof OAuth2Error) {
      renderOAuth2Error(adapter, http.getResponse(), error);
    } else if (this.isTokenRequest(adapter.getRequestUrl(http.getRequest()))) {
      const refusal = OAuth2Error.unreadableBody(error.getStatus());
      renderOAuth2Error(adapter, http.getResponse(), refusal, NO_STORE_HEADERS);
    } else {
      new BaseExceptionFilter(adapter).catch(error, host);
    }
  }

  private isTokenRequest(url: string): boolean {
    if (this.tokenPathSuffix === undefined) return false;
    const path = url.split('?', 1)[0].replace(/\/+$/, '');
    return path.endsWith(this.tokenPathSuffix);
  }
}
