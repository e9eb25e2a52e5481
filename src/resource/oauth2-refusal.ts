import { STATUS_CODES } from 'node:http';
import type { OAuth2Error, OAuth2ErrorCode } from '../errors/oauth2-error.js';

/**
 * A refusal of OAuth2Guard as data, for transports without HTTP headers or body: the RFC 6750 §3 body
 * (`error`, `error_description`; neither for a request that sent no token, §3.1) with the HTTP status the
 * refusal has over HTTP, and what the headers would have said: the required `scope` of an insufficient_scope
 * challenge (§3) and `retry_after` of a 503 (RFC 9110 §10.2.3).
 */
export interface OAuth2Refusal {
  status: number;
  error?: OAuth2ErrorCode;
  error_description?: string;
  /** The scopes the handler requires, space-separated as in the challenge (insufficient_scope only). */
  scope?: string;
  /** Seconds after which the caller may retry (a 503 only). */
  retry_after?: number;
  /** A human-readable line: the description, else the HTTP reason phrase. */
  message: string;
}

/** The refusal's data; never the token nor anything else the request sent (descriptions are fixed strings). */
export function refusalOf(error: OAuth2Error): OAuth2Refusal {
  const status = error.getStatus();
  const refusal: OAuth2Refusal = {
    status,
    ...error.body,
    message: error.description ?? STATUS_CODES[status] ?? 'Request refused',
  };
  if (error.extras.scope !== undefined) refusal.scope = error.extras.scope.join(' ');
  if (error.extras.retryAfter !== undefined) refusal.retry_after = error.extras.retryAfter;
  return refusal;
}
