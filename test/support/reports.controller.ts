import { Controller, Get, UseGuards } from '@nestjs/common';
import { OAuth2Guard, OAuthPrincipal, Scopes } from '../../src/index.js';

/** The README's controller ("Protect your routes"), which its testing-kit specs test. */
@Controller('reports')
@UseGuards(OAuth2Guard)
export class ReportsController {
  @Get()
  @Scopes('reports:read') // every listed scope is required
  list(@OAuthPrincipal() caller: OAuthPrincipal) {
    return { client: caller.clientId, subject: caller.subject, scopes: caller.scopes };
  }
}
