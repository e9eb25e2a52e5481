import {
  applyDecorators,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Options,
  Patch,
  Post,
  Put,
  UseFilters,
  UseGuards,
  type Type,
} from '@nestjs/common';
import { ClientAuthGuard } from '../client-auth/client-auth.guard.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { NO_STORE_HEADERS } from '../errors/oauth2-error.renderer.js';
import { OAuth2Public } from '../resource/oauth2-public.decorator.js';
import { TokenExceptionFilter } from './token-exception.filter.js';

const ALLOW = 'POST';

/**
 * What the module's POST endpoints (token, revocation, introspection) share: public to OAuth2Guard, errors in
 * RFC 6749 §5.2 form, OPTIONS answered with Allow, and every other method a 405 naming POST. A subclass adds
 * `@Controller(path)` and its `@Post()` handler.
 */
@OAuth2Public()
@UseFilters(TokenExceptionFilter)
export abstract class PostEndpoint {
  /** How a 405 names the endpoint, e.g. "token endpoint". */
  protected abstract readonly endpoint: string;

  @Options()
  @HttpCode(HttpStatus.NO_CONTENT)
  @Header('Allow', ALLOW)
  @Header('Cache-Control', NO_STORE_HEADERS['Cache-Control'])
  @Header('Pragma', NO_STORE_HEADERS.Pragma)
  options(): void {}

  // RFC 9110 §15.5.6: another method is a 405 that names the allowed one. One handler per method, since
  // Fastify refuses a catch-all route next to POST on the same path; HEAD follows GET on both platforms.

  @Get()
  get(): never {
    throw OAuth2Error.methodNotAllowed(ALLOW, this.endpoint);
  }

  @Put()
  put(): never {
    throw OAuth2Error.methodNotAllowed(ALLOW, this.endpoint);
  }

  @Patch()
  patch(): never {
    throw OAuth2Error.methodNotAllowed(ALLOW, this.endpoint);
  }

  @Delete()
  delete(): never {
    throw OAuth2Error.methodNotAllowed(ALLOW, this.endpoint);
  }
}

/**
 * The POST handler of an endpoint the client authenticates to (RFC 6749 §2.3, RFC 7009 §2.1, RFC 7662 §2.1):
 * ClientAuthGuard (every enabled method, throttled), 200, and no-store (RFC 6749 §5.1) on the answer.
 */
export const ClientAuthenticatedPost = (): MethodDecorator =>
  applyDecorators(
    Post(),
    HttpCode(HttpStatus.OK),
    Header('Cache-Control', NO_STORE_HEADERS['Cache-Control']),
    Header('Pragma', NO_STORE_HEADERS.Pragma),
    UseGuards(ClientAuthGuard),
  );

/** `endpoint` served at `path`, under its own name in Nest's route log. */
export function servedAt<T extends PostEndpoint>(endpoint: Type<T>, path: string): Type<T> {
  @Controller(path)
  class Configured extends (endpoint as Type<object>) {}
  Object.defineProperty(Configured, 'name', { value: endpoint.name });
  return Configured as Type<T>;
}
