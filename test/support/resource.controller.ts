import { Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { OAuth2Guard, OAuthPrincipal, Scopes } from '../../src/index.js';

/** A resource server's routes, guarded the way the README shows. */
@Controller('api')
@UseGuards(OAuth2Guard)
export class ResourceController {
  @Get('whoami')
  whoami(@OAuthPrincipal() principal: OAuthPrincipal) {
    return {
      client_id: principal.clientId,
      sub: principal.subject,
      scope: principal.scopes.join(' '),
    };
  }

  @Get('reports')
  @Scopes('reports:read')
  list(@OAuthPrincipal('clientId') clientId: string) {
    return { reports: [], client_id: clientId };
  }

  @Post('reports')
  @HttpCode(201)
  @Scopes('reports:write')
  create() {
    return { created: true };
  }
}
