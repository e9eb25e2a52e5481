import { ConsoleLogger } from '@nestjs/common';
import { OAuth2EventSink, type OAuth2EventInput } from '../index.js';

/** Nest's JSON log record, one line each, written where the CLI says (stderr) instead of stdout. */
class JsonLineLogger extends ConsoleLogger {
  constructor(private readonly write: (line: string) => void) {
    super('OAuth2Audit', { json: true, flattenParams: true });
  }

  protected override printAsJson(
    message: unknown,
    options: Parameters<ConsoleLogger['printAsJson']>[1],
  ): void {
    this.write(this.stringifyJsonLogObject(this.getJsonLogObject(message, options)) + '\n');
  }
}

/**
 * The CLI's audit events: one JSON line each on stderr, the record Nest's ConsoleLogger writes in json mode
 * (`level`, `pid`, `timestamp`, `message`, `context: "OAuth2Audit"`, then `event` and the event's fields),
 * as the servers' default sink logs them. Stdout keeps the command's result alone, so `--json` stays
 * parseable.
 */
export class CliEventSink extends OAuth2EventSink {
  private readonly logger: JsonLineLogger;

  constructor(write: (line: string) => void) {
    super();
    this.logger = new JsonLineLogger(write);
  }

  emit(event: OAuth2EventInput): void {
    const time = event.time ?? new Date().toISOString();
    this.logger.log(event.type, { event: event.type, ...event, time });
  }
}
