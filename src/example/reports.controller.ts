import { BadRequestException, Body, Controller, Get, Post, UseGuards } from '@nestjs/common';
import { OAuth2Guard, OAuthPrincipal, Scopes } from '../index.js';
import { ReportsService, type Report } from './reports.service.js';

const MAX_TITLE_LENGTH = 200;

/** Reading reports needs the `reports:read` scope, writing them `reports:write`. */
@Controller('api/reports')
@UseGuards(OAuth2Guard)
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  @Get()
  @Scopes('reports:read')
  list(): { reports: Report[] } {
    return { reports: this.reports.list() };
  }

  @Post()
  @Scopes('reports:write')
  create(@Body() body: unknown, @OAuthPrincipal('clientId') clientId: string): Report {
    const title = (body as { title?: unknown } | undefined)?.title;
    if (typeof title !== 'string' || title.trim() === '' || title.length > MAX_TITLE_LENGTH) {
      throw new BadRequestException(
        `title must be a non-empty string of at most ${MAX_TITLE_LENGTH} characters`,
      );
    }
    return this.reports.create(title.trim(), clientId);
  }
}
