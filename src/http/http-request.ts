/** The parts of an Express or Fastify request the library reads. */
export interface OAuth2HttpRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  [key: string | symbol]: unknown;
}

/**
 * Request syntax this folder cannot read. Its message is a fixed description, safe to send to the client (it
 * never quotes input); each caller turns it into the invalid_request of its own protocol (RFC 6749 §5.2 on
 * the token endpoint, RFC 6750 §3.1 on protected resources).
 */
export class MalformedRequestError extends Error {
  override readonly name = 'MalformedRequestError';

  constructor(
    message: string,
    /** 413 for a body over the limits, else 400. */
    readonly status: number = 400,
  ) {
    super(message);
  }
}
