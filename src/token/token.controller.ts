import {
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
  Req,
  UseFilters,
  UseGuards,
  type Type,
} from '@nestjs/common';
import { AuthenticatedClient, ClientAuthGuard } from '../client-auth/client-auth.guard.js';
import type { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { NO_STORE_HEADERS } from '../errors/oauth2-error.renderer.js';
import type { OAuth2HttpRequest } from '../http/http-request.js';
import { OAuth2Public } from '../resource/oauth2-public.decorator.js';
import { ClientCredentialsGrant } from './client-credentials.grant.js';
import { TokenExceptionFilter } from './token-exception.filter.js';
import { parseTokenRequest } from './token-request.js';
import type { OAuthTokenResponse } from './token-response.interface.js';

const ALLOW = 'POST';

/**
 * The token endpoint (RFC 6749 §3.2) for the client credentials grant (§4.4): the client authenticated by
 * ClientAuthGuard's Passport strategy, the form read once into a TokenRequest, the grant decides. Its path is
 * set by `createTokenController()`, so it can follow the module's `tokenPath`.
 */
@OAuth2Public()
@UseFilters(TokenExceptionFilter)
@Controller()
export class TokenController {
  constructor(private readonly grant: ClientCredentialsGrant) {}

  @Post()
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', NO_STORE_HEADERS['Cache-Control'])
  @Header('Pragma', NO_STORE_HEADERS.Pragma)
  @UseGuards(ClientAuthGuard)
  token(
    @AuthenticatedClient() client: OAuthClient,
    @Req() request: OAuth2HttpRequest,
  ): Promise<OAuthTokenResponse> {
    return this.grant.respond(client, parseTokenRequest(request));
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
