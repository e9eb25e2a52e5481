import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { FILTER_CATCH_EXCEPTIONS } from '@nestjs/common/constants.js';
import { APP_FILTER, BaseExceptionFilter, HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2ErrorRenderer } from '../errors/oauth2-error.renderer.js';
import type { OAuth2Metrics } from '../observability/metrics.js';
import { pathEndsWith, renderTokenError, tokenRequestOutcome } from './token-exception.filter.js';

/**
 * Matches what Nest makes of a platform's refusal to read a body: an HttpException caused by body-parser's
 * http-errors (`type` 'entity.too.large', 'parameters.too.many', 'entity.parse.failed', …) on Express, or by a
 * Fastify content-type parser error (`FST_ERR_CTP_*`: too large, unsupported media type, …).
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

/**
 * A body parser refuses a request before routing, so only an app-wide filter sees the refusal. This one
 * answers it in OAuth form for the module's POST endpoints alone (token, revocation, introspection). A refusal on any other path goes where it would go
 * without the module: to the next app-wide filter of the host app that catches it, else to Nest's default.
 */
@Catch(BodyParserRefusal)
export class TokenBodyRefusalFilter implements ExceptionFilter<HttpException> {
  /** `paths[0]` is the token endpoint's: its refusals are counted by `metrics`, when given. */
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly renderer: OAuth2ErrorRenderer,
    private readonly paths: readonly string[],
    private readonly modules: ModulesContainer,
    private readonly metrics?: OAuth2Metrics,
  ) {}

  catch(error: HttpException, host: ArgumentsHost): void {
    const { httpAdapter } = this.adapterHost;
    const http = host.switchToHttp();
    const request = http.getRequest();
    if (!this.paths.some((path) => pathEndsWith(this.adapterHost, request, path))) {
      const next = this.hostAppFilters().find((filter) => catches(filter, error));
      if (next) next.catch(error, host);
      else new BaseExceptionFilter(httpAdapter).catch(error, host);
      return;
    }
    const refusal = OAuth2Error.unreadableBody(error.getStatus());
    if (this.paths.length > 0 && pathEndsWith(this.adapterHost, request, this.paths[0])) {
      this.metrics?.tokenRequest(tokenRequestOutcome(refusal));
    }
    renderTokenError(this.adapterHost, this.renderer, http.getResponse(), refusal);
  }

  /**
   * The other APP_FILTER providers, in the order Nest consults them: it registers each as
   * `APP_FILTER (UUID: …)` in module order, and asks the last registered first.
   */
  private hostAppFilters(): ExceptionFilter[] {
    const filters: ExceptionFilter[] = [];
    for (const module of this.modules.values()) {
      for (const [token, wrapper] of module.providers) {
        const filter = wrapper.instance as ExceptionFilter | undefined;
        if (
          typeof token === 'string' &&
          token.startsWith(APP_FILTER) &&
          filter &&
          filter !== this
        ) {
          filters.push(filter);
        }
      }
    }
    return filters.reverse();
  }
}

/** Whether a filter's `@Catch()` takes the error, as Nest decides it. */
function catches(filter: ExceptionFilter, error: unknown): boolean {
  const types: Array<abstract new (...args: never[]) => unknown> =
    Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, filter.constructor) ?? [];
  return types.length === 0 || types.some((type) => error instanceof type);
}
