import { inspect } from 'node:util';
import type { LoggerService } from '@nestjs/common';

export interface LogLine {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
  context?: string;
  /** The structured fields (`event`, …) the call passed after the message (README "Logs"). */
  fields?: Record<string, unknown>;
  /** Every argument of the call, an error's stack included: what a leak check must read. */
  whole: string;
}

/** A Nest logger that keeps what it is told, for assertions. */
export class CapturingLogger implements LoggerService {
  readonly lines: LogLine[] = [];

  log = (message: unknown, ...rest: unknown[]): void => this.add('log', message, rest);
  error = (message: unknown, ...rest: unknown[]): void => this.add('error', message, rest);
  warn = (message: unknown, ...rest: unknown[]): void => this.add('warn', message, rest);
  debug = (message: unknown, ...rest: unknown[]): void => this.add('debug', message, rest);
  verbose = (message: unknown, ...rest: unknown[]): void => this.add('verbose', message, rest);
  fatal = (message: unknown, ...rest: unknown[]): void => this.add('fatal', message, rest);

  /** Everything logged, one line per call: `level [context] message`. */
  text(): string {
    return this.lines.map((line) => `${line.level} [${line.context}] ${line.message}`).join('\n');
  }

  /** Every call whole, from the `from`-th on: message, stack and context. */
  everything(from = 0): string[] {
    return this.lines.slice(from).map((line) => line.whole);
  }

  private add(level: LogLine['level'], message: unknown, rest: unknown[]): void {
    // Nest passes the context last: logger.error(message, stack, context), logger.warn(message, fields, context).
    const last = rest[rest.length - 1];
    const context = typeof last === 'string' ? last : undefined;
    const objects = rest.filter(
      (part): part is Record<string, unknown> =>
        typeof part === 'object' &&
        part !== null &&
        Object.getPrototypeOf(part) === Object.prototype,
    );
    const fields = objects.length > 0 ? Object.assign({}, ...objects) : undefined;
    const text = message instanceof Error ? message.message : String(message);
    const whole = [message, ...rest]
      .filter((part) => part !== undefined)
      .map((part) => (typeof part === 'string' ? part : inspect(part)))
      .join(' ');
    this.lines.push({ level, message: text, context, fields, whole });
  }
}
