import { ConsoleLogger } from '@nestjs/common';
import { DefaultOAuth2EventSink } from '../index.js';

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
 * The CLI's audit events: the servers' default sink, its lines as the JSON record Nest's ConsoleLogger writes in
 * json mode (`level`, `pid`, `timestamp`, `message`, `context: "OAuth2Audit"`, then `event` and the event's
 * fields), one each on stderr. Stdout keeps the command's result alone, so `--json` stays parseable.
 */
export class CliEventSink extends DefaultOAuth2EventSink {
  constructor(write: (line: string) => void) {
    super(undefined, new JsonLineLogger(write));
  }
}
