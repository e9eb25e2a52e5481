import {
  Controller,
  Delete,
  Get,
  Patch,
  Put,
  Header,
  HttpCode,
  HttpStatus,
  Options,
  Post,
  Req,
  UseFilters,
  UseGuards,
  type Type,
} from '@nestjs/common';
import { ClientAuthGuard } from '../client-auth/client-auth.guard.js';
import { authenticatedClientOf } from '../client-auth/presented-credentials.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { CLIENT_CREDENTIALS_GRANT, NO_STORE_HEADERS } from '../oauth2.constants.js';
import { OAuth2Public } from '../resource/oauth2-public.decorator.js';
import type { OAuthTokenResponse } from './access-token.interface.js';
import { grantScopes, parseStoredList, SCOPE_PATTERN } from './scope.js';
import { TokenExceptionFilter } from './token-exception.filter.js';
import { TokenRequestGuard, tokenRequestOf } from './token-request.guard.js';
import { TokenService } from './token.service.js';

const ALLOW = 'POST';

/**
 * The token endpoint (RFC 6749 §3.2) for the client credentials grant (§4.4). Its path is set by
 * `createTokenController()`, so it can follow the module's `tokenPath`.
 */
@OAuth2Public()
@UseFilters(TokenExceptionFilter)
@Controller()
export class TokenController {
  constructor(private readonly tokens: TokenService) {}

  @Post()
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', NO_STORE_HEADERS['Cache-Control'])
  @Header('Pragma', NO_STORE_HEADERS.Pragma)
  @UseGuards(TokenRequestGuard, ClientAuthGuard)
  async token(@Req() request: object): Promise<OAuthTokenResponse> {
    const client = authenticatedClientOf(request);
    const { scope } = tokenRequestOf(request);

    // grant_types null allows every grant, as in the seed's schema.
    if (
      client.grantTypes !== null &&
      !parseStoredList(client.grantTypes).includes(CLIENT_CREDENTIALS_GRANT)
    ) {
      throw OAuth2Error.unauthorizedClient('The client is not allowed to use this grant type');
    }
    if (scope !== undefined && !SCOPE_PATTERN.test(scope)) {
      throw OAuth2Error.invalidScope('The scope parameter is malformed');
    }
    const scopes = grantScopes(scope, client.scope);
    if (!scopes)
      throw OAuth2Error.invalidScope('The requested scope exceeds what the client may be granted');
    return this.tokens.issue(client, scopes);
  }

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
    throw OAuth2Error.methodNotAllowed(ALLOW);
  }

  @Put()
  put(): never {
    throw OAuth2Error.methodNotAllowed(ALLOW);
  }

  @Patch()
  patch(): never {
    throw OAuth2Error.methodNotAllowed(ALLOW);
  }

  @Delete()
  delete(): never {
    throw OAuth2Error.methodNotAllowed(ALLOW);
  }
}

/** A TokenController subclass served at `path`. */
export function createTokenController(path: string): Type<TokenController> {
  @Controller(path)
  class ConfiguredTokenController extends TokenController {}
  // Nest names the class in its route log.
  Object.defineProperty(ConfiguredTokenController, 'name', { value: TokenController.name });
  return ConfiguredTokenController;
}
