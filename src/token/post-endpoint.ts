import {
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Options,
  Patch,
  Put,
  UseFilters,
  type Type,
} from '@nestjs/common';
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

/** `endpoint` served at `path`, under its own name in Nest's route log. */
export function servedAt<T extends PostEndpoint>(endpoint: Type<T>, path: string): Type<T> {
  @Controller(path)
  class Configured extends (endpoint as Type<object>) {}
  Object.defineProperty(Configured, 'name', { value: endpoint.name });
  return Configured as Type<T>;
}
