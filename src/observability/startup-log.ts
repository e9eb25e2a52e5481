import { Logger, type LoggerService, type OnApplicationBootstrap } from '@nestjs/common';
import type { OAuth2LogFields } from './log-fields.js';

/** A start-up log line: a sentence for people, and its fields (`event` first). */
export interface OAuth2StartupLine {
  message: string;
  fields: OAuth2LogFields;
}

/**
 * Writes what a module was configured with, once, at `log` level, when the application has bootstrapped:
 * every module has initialised by then, so the keys a key store loads at init are known. `describe` is
 * called only then, and must never put a secret, pepper, key encryption key or private key in the line.
 */
export class OAuth2StartupLog implements OnApplicationBootstrap {
  constructor(
    private readonly describe: () => OAuth2StartupLine,
    private readonly logger: LoggerService = new Logger('OAuth2'),
  ) {}

  onApplicationBootstrap(): void {
    const { message, fields } = this.describe();
    this.logger.log(message, fields);
  }
}

/** A URL as a log line may name it: without user or password, query or fragment. */
export function loggableUrl(url: string | undefined): string {
  if (url === undefined) return '(none)';
  try {
    const { protocol, host, pathname } = new URL(url);
    return `${protocol}//${host}${pathname === '/' ? '' : pathname}`;
  } catch {
    return '(not a URL)';
  }
}
