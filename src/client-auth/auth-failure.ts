import { OAuth2Error } from '../errors/oauth2-error.js';
import type { OAuth2AuthFailureReason } from '../observability/events.js';

/**
 * Why each refusal was decided, kept beside the error rather than on it: a WeakMap entry is no property, so
 * no renderer, serializer or host exception filter can ever put it in a response body or header.
 */
const reasons = new WeakMap<OAuth2Error, OAuth2AuthFailureReason>();

/** `error` (by default the RFC 6749 §5.2 401 invalid_client), marked with why the client was refused. */
export function refusal(
  reason: OAuth2AuthFailureReason,
  error: OAuth2Error = OAuth2Error.invalidClient(),
): OAuth2Error {
  reasons.set(error, reason);
  return error;
}

/** The reason `refusal()` marked the error with. */
export function refusalReason(error: unknown): OAuth2AuthFailureReason | undefined {
  return error instanceof OAuth2Error ? reasons.get(error) : undefined;
}
