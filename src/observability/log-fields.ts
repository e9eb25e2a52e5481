/**
 * The structured part of every log line the module writes: `logger.warn(message, fields)` through Nest's
 * Logger, whose ConsoleLogger prints the fields after the message (or as JSON members with `json: true`), and
 * which nestjs-pino and other loggers take over. `event` is stable (documented in the README, "Logs"); the
 * message is for people and may change. Never a secret, hash, assertion, key material or token in either.
 */
export interface OAuth2LogFields {
  /** A stable, dotted event name: `oauth2.<area>.<what>`, e.g. `oauth2.redis.unreachable`. */
  event: string;
  [field: string]: string | number | boolean | null | undefined | readonly string[];
}
