import { describe, expect, test } from '@jest/globals';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { tokenRequestOutcome } from './token-exception.filter.js';

describe('tokenRequestOutcome: how a refused token request is counted', () => {
  test.each<[string, string, OAuth2Error]>([
    ['invalid_request', 'invalid_request', OAuth2Error.invalidRequest('x')],
    ['a 413 body', 'invalid_request', OAuth2Error.unreadableBody(413)],
    ['a 405', 'invalid_request', OAuth2Error.methodNotAllowed('POST')],
    ['invalid_client', 'invalid_client', OAuth2Error.invalidClient()],
    ['unauthorized_client', 'unauthorized_client', OAuth2Error.unauthorizedClient('x')],
    ['unsupported_grant_type', 'unsupported_grant_type', OAuth2Error.unsupportedGrantType()],
    ['invalid_scope', 'invalid_scope', OAuth2Error.invalidScope('x')],
    ['invalid_target', 'invalid_target', OAuth2Error.invalidTarget('x')],
    ['our throttling’s 429', 'throttled', OAuth2Error.tooManyFailures(3)],
    ['a host rate limiter’s 429', 'throttled', OAuth2Error.refusedByHost(429, 'Too Many Requests')],
    ['a host guard’s 403', 'invalid_request', OAuth2Error.refusedByHost(403, 'Forbidden')],
    ['the KDF queue full', 'busy', OAuth2Error.busy(1)],
    ['storage down', 'unavailable', OAuth2Error.temporarilyUnavailable(5)],
    ['a failure of ours', 'server_error', OAuth2Error.serverError()],
    ['a resource server code', 'server_error', OAuth2Error.invalidToken('x')],
  ])('%s → %s', (_, outcome, error) => {
    expect(tokenRequestOutcome(error)).toBe(outcome);
  });
});
