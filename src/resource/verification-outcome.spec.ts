import { describe, expect, test } from '@jest/globals';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { MalformedRequestError } from '../http/http-request.js';
import { refusedAs, verificationOutcomeOf } from './verification-outcome.js';

describe('verificationOutcomeOf', () => {
  test('a verifier’s mark wins, and changes nothing a response is built from', () => {
    const error = refusedAs('expired', OAuth2Error.invalidToken('The access token expired'));
    expect(verificationOutcomeOf(error)).toBe('expired');
    expect(Object.keys(error)).toEqual(Object.keys(OAuth2Error.invalidToken('x')));
    expect(JSON.stringify(error.getResponse())).toBe(
      '{"error":"invalid_token","error_description":"The access token expired"}',
    );
  });

  test.each([
    ['no token (bare challenge)', 'missing', OAuth2Error.missingToken()],
    ['a token sent two ways', 'malformed', new MalformedRequestError('two methods')],
    ['an invalid_request', 'malformed', OAuth2Error.invalidRequest('bad')],
    [
      'an unmarked invalid_token (a verifier of the host’s)',
      'invalid',
      OAuth2Error.invalidToken('no'),
    ],
    ['insufficient_scope', 'insufficient_scope', OAuth2Error.insufficientScope(['a'])],
    ['a 503', 'unavailable', OAuth2Error.temporarilyUnavailable(5)],
    ['anything else thrown', 'unavailable', new TypeError('boom')],
    ['a thrown non-error', 'unavailable', undefined],
  ] as const)('%s → %s', (_name, outcome, error) => {
    expect(verificationOutcomeOf(error)).toBe(outcome);
  });
});
