import { OAuth2Error } from '../errors/oauth2-error.js';
import { MalformedRequestError } from '../http/http-request.js';
import type { OAuth2VerificationOutcome } from '../observability/metrics.js';

const OUTCOME = Symbol('oauth2.verificationOutcome');

/**
 * Marks a verifier's refusal with why it refused, for the `oauth2.token.verifications` metric: the error's
 * body and challenge stay what RFC 6750 §3.1 says (a fixed `invalid_token`), and the mark is a non-enumerable
 * symbol property that no renderer or serialiser reads.
 */
export function refusedAs<E extends Error>(outcome: OAuth2VerificationOutcome, error: E): E {
  Object.defineProperty(error, OUTCOME, { value: outcome });
  return error;
}

/**
 * Why a verification failed, from what was thrown: a verifier's mark, else what the error says (an
 * unmarked `invalid_token` is `invalid`; a request read two ways is `malformed`; a 503 or anything
 * unexpected means the token could not be checked, `unavailable`).
 */
export function verificationOutcomeOf(error: unknown): OAuth2VerificationOutcome {
  const marked = (error as { [OUTCOME]?: OAuth2VerificationOutcome } | null)?.[OUTCOME];
  if (marked !== undefined) return marked;
  if (error instanceof MalformedRequestError) return 'malformed';
  if (!(error instanceof OAuth2Error)) return 'unavailable';
  switch (error.error) {
    case undefined:
      return 'missing';
    case 'invalid_request':
      return 'malformed';
    case 'invalid_token':
      return 'invalid';
    case 'insufficient_scope':
      return 'insufficient_scope';
    default:
      return 'unavailable';
  }
}
