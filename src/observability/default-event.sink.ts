import { Logger, type LoggerService } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { OAuth2EventSink, type OAuth2Event, type OAuth2EventInput } from './events.js';
import type { OAuth2LogFields } from './log-fields.js';

/** What the sink uses of @nestjs/event-emitter's EventEmitter2. */
export interface OAuth2EventEmitter {
  emit(event: string, ...values: unknown[]): boolean;
}

/**
 * The default sink: one structured log line per event through Nest's Logger (context `OAuth2Audit`, level
 * `log`: `logger.log(message, { event: type, ...fields })`), and the event on the host app's EventEmitter2
 * under its `type` when it registers EventEmitterModule (@nestjs/event-emitter). A listener that throws is
 * logged once per event type and never fails the request that emitted. No option turns the log line off: a
 * team that sends events elsewhere gives its own sink (the `eventSink` extra), and one that wants fewer lines
 * sets the level of its logger.
 */
export class DefaultOAuth2EventSink extends OAuth2EventSink {
  /** Event types whose failing listener was already reported. */
  private readonly reported = new Set<string>();
  private emitter: OAuth2EventEmitter | null | undefined;

  /**
   * `emitter`: the host app's EventEmitter2, or a function that finds it once (null: there is none).
   * `logger`: where the lines go, by default Nest's Logger (so the app's logger) with context `OAuth2Audit`.
   */
  constructor(
    emitter?: OAuth2EventEmitter | (() => OAuth2EventEmitter | null),
    private readonly logger: LoggerService = new Logger('OAuth2Audit'),
  ) {
    super();
    if (typeof emitter === 'function') this.findEmitter = emitter;
    else this.emitter = emitter ?? null;
  }

  private findEmitter: () => OAuth2EventEmitter | null = () => null;

  emit(input: OAuth2EventInput): void {
    // On the request path (one line per issued token): the fields are built in one pass, in the event's own
    // order with `event` first, and the event is copied only for an emitter. The line carries no `time` of
    // its own for an event happening now: every logger stamps its lines (ConsoleLogger's `timestamp`, pino's
    // `time`, which a second `time` member would clash with).
    try {
      this.logger.log(describe(input), logFields(input));
    } catch {
      // A logger that throws must not fail the request: the event still goes to the emitter.
    }
    // Found at the first event, once every module is instantiated, rather than when this sink is built.
    if (this.emitter === undefined) this.emitter = this.findEmitter();
    if (!this.emitter) return;
    try {
      this.emitter.emit(input.type, { ...input, time: input.time ?? isoNow() } as OAuth2Event);
    } catch (error) {
      this.listenerFailed(input.type, error);
    }
  }

  private listenerFailed(type: string, error: unknown): void {
    if (this.reported.has(type)) return;
    this.reported.add(type);
    try {
      // The error's name only: a listener's message could hold anything.
      this.logger.warn(
        `A listener of ${type} threw (${error instanceof Error ? error.name : typeof error}); reported once per event type`,
        { event: 'oauth2.events.listener_failed', type },
      );
    } catch {
      // Nothing left to tell.
    }
  }
}

/** An event's log fields: `event` holding its type, then its other members (`time` only when given). */
function logFields(input: OAuth2EventInput): OAuth2LogFields {
  const fields: Record<string, unknown> = { event: input.type };
  for (const key in input) {
    if (key !== 'type') fields[key] = input[key as keyof OAuth2EventInput];
  }
  return fields as OAuth2LogFields;
}

let isoMillis = -1;
let isoString = '';

/** `new Date().toISOString()`, formatted once per millisecond (it costs about 0.5 µs). */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMillis) {
    isoMillis = now;
    isoString = new Date(now).toISOString();
  }
  return isoString;
}

/** The sentence of an event's log line; the fields carry the rest. */
function describe(event: OAuth2EventInput): string {
  const client = JSON.stringify('clientId' in event ? event.clientId : null);
  switch (event.type) {
    case 'oauth2.token.issued':
      return `Token issued to client ${client}`;
    case 'oauth2.client_auth.failed':
      return `Client authentication failed (${event.reason}) at the ${event.endpoint} endpoint`;
    case 'oauth2.client.secret_added':
      return `Secret added to client ${client}`;
    case 'oauth2.client.secret_revoked':
      return `Secret of client ${client} revoked`;
    case 'oauth2.client.secret_rotated':
      return `Secrets of client ${client} rotated`;
    case 'oauth2.client.created':
      return `Client ${client} created`;
    case 'oauth2.client.updated':
      return `Client ${client} updated`;
    case 'oauth2.client.deleted':
      return `Client ${client} deleted`;
    case 'oauth2.key.generated':
    case 'oauth2.key.activated':
    case 'oauth2.key.retired':
    case 'oauth2.key.pruned':
      return `Signing key ${JSON.stringify(event.kid)} ${event.type.slice('oauth2.key.'.length)}`;
    case 'oauth2.token.revoked':
      return event.jti === null
        ? `Every token of client ${client} revoked`
        : `Token of client ${client} revoked`;
    case 'oauth2.token.introspected':
      return `Token introspected by client ${client} (${event.active ? 'active' : 'inactive'})`;
  }
}

/**
 * The default sink, bound to the host app's EventEmitter2 when @nestjs/event-emitter is installed and its
 * EventEmitterModule registered. The package is an optional peer: loaded here, lazily, never at the top of a
 * module, so an app without it loads the library as well.
 */
export async function createDefaultEventSink(moduleRef: ModuleRef): Promise<OAuth2EventSink> {
  let token: unknown;
  try {
    ({ EventEmitter2: token } = await import('@nestjs/event-emitter'));
  } catch {
    return new DefaultOAuth2EventSink();
  }
  return new DefaultOAuth2EventSink(() => {
    try {
      return moduleRef.get(token as never, { strict: false }) as OAuth2EventEmitter;
    } catch {
      // Installed, but the host app does not register EventEmitterModule.
      return null;
    }
  });
}
