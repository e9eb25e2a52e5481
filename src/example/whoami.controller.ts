import { Controller, Get, UseGuards } from '@nestjs/common';
import { OAuth2Guard, OAuthPrincipal } from '../index.js';

/** Who the access token belongs to: any valid token may ask. */
@Controller('api')
@UseGuards(OAuth2Guard)
export class WhoamiController {
  @Get('whoami')
  whoami(@OAuthPrincipal() principal: OAuthPrincipal) {
    return {
      client_id: principal.clientId,
      sub: principal.subject,
      scope: principal.scopes.join(' '),
    };
  }
}
