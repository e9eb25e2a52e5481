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

/** Scopes on the controller and on a route: the guard merges them, so a route needs both. */
@Controller('api/archive')
@UseGuards(OAuth2Guard)
@Scopes('reports:read')
export class ArchiveController {
  @Get()
  list() {
    return { archive: [] };
  }

  @Post()
  @HttpCode(201)
  @Scopes('reports:write')
  archive() {
    return { archived: true };
  }
}

/** The resource routes every fixture app serves. */
export const resourceControllers = [ResourceController, ArchiveController];
