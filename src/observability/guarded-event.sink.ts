import { Logger } from '@nestjs/common';
import { OAuth2EventSink, type OAuth2EventInput } from './events.js';

/**
 * The sink the module's services are given: the configured one, whose throw (a full queue of one's own, a
 * bug) never reaches a request. A token already signed is answered, a revocation already stored is
 * acknowledged, a refusal stays a 401; the first failure is logged, the events refused are lost.
 */
export class GuardedOAuth2EventSink extends OAuth2EventSink {
  private reported = false;

  constructor(
    private readonly sink: OAuth2EventSink,
    private readonly logger: Pick<Logger, 'warn'> = new Logger('OAuth2Audit'),
  ) {
    super();
  }

  emit(event: OAuth2EventInput): void {
    try {
      this.sink.emit(event);
    } catch (error) {
      if (this.reported) return;
      this.reported = true;
      // The error's name only: a sink's message could hold anything.
      this.logger.warn(
        `The event sink threw (${error instanceof Error ? error.name : typeof error}) on ${event.type}; events it refuses are lost (reported once)`,
        { event: 'oauth2.events.sink_failed', type: event.type },
      );
    }
  }
}
