import { Controller, Get, UseGuards } from '@nestjs/common';
import { OAuth2Guard, OAuthPrincipal, Scopes } from '@nest-oauth2/server';

@Controller('reports')
@UseGuards(OAuth2Guard)
export class ReportsController {
  @Get()
  @Scopes('reports:read')
  list(@OAuthPrincipal() caller: OAuthPrincipal) {
    return { client: caller.clientId, scopes: caller.scopes, reports: ['Q1', 'Q2'] };
  }
}
