import { createHmac, verify, type KeyObject } from 'node:crypto';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { createExampleApp, type ExampleAppOptions } from '../../src/example/create-example-app.js';

export interface LogLine {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
  context?: string;
}

/** A Nest logger that keeps what it is told, for assertions. */
export class CapturingLogger implements LoggerService {
  readonly lines: LogLine[] = [];

  log(message: unknown, ...rest: unknown[]): void {
    this.add('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.add('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.add('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.add('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.add('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.add('fatal', message, rest);
  }

  /** Everything logged, one line per call. */
  text(): string {
    return this.lines.map((line) => `${line.level} [${line.context}] ${line.message}`).join('\n');
  }

  private add(level: LogLine['level'], message: unknown, rest: unknown[]): void {
    const context = rest.length > 0 ? String(rest[rest.length - 1]) : undefined;
    const text = message instanceof Error ? message.message : String(message);
    this.lines.push({ level, message: text, context });
  }
}

export interface RunningExample {
  app: INestApplication;
  logger: CapturingLogger;
  server: ReturnType<INestApplication['getHttpServer']>;
}

/** Builds the example app from `env` and listens on an ephemeral loopback port. */
export async function startExample(
  env: Record<string, string>,
  options: Omit<ExampleAppOptions, 'logger'>,
): Promise<RunningExample> {
  const logger = new CapturingLogger();
  const app = await createExampleApp({ PORT: '0', ...env }, { ...options, logger });
  await app.listen(0, '127.0.0.1');
  return { app, logger, server: app.getHttpServer() };
}

export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [header, payload] = token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
  return { header, payload };
}

/** Checks an ES256 JWS signature (JOSE uses the raw r||s form, RFC 7518 §3.4). */
export function verifiesEs256(token: string, publicKey: KeyObject): boolean {
  const [header, payload, signature] = token.split('.');
  return verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    { key: publicKey, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
}

export function verifiesHs256(token: string, secret: string): boolean {
  const [header, payload, signature] = token.split('.');
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return expected === signature;
}
