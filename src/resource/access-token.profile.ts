import { OAuth2Error } from '../errors/oauth2-error.js';
import { parseScope } from '../http/scope.js';
import type { OAuthAccessTokenClaims, OAuthPrincipal } from './access-token.interface.js';

/**
 * The longest access token any verifier reads (8 KiB): ours are a few hundred bytes, and a longer one is refused
 * as invalid_token before any parsing, so garbage cannot make a verifier decode megabytes.
 */
export const MAX_ACCESS_TOKEN_LENGTH = 8 * 1024;

/** RFC 9068 §4: `typ` is `at+jwt`, or the full media type; media types compare case-insensitively. */
const ACCESS_TOKEN_TYPES = new Set(['at+jwt', 'application/at+jwt']);

/**
 * The RFC 9068 §4 checks every verifier makes after the signature, `iss`, `aud` and `exp` (local keys or a
 * remote JWKS alike): the `typ` header, no critical extension we do not understand (RFC 7515 §4.1.11), and
 * the claims the profile requires. The principal of the token, or an invalid_token error.
 */
export function principalOfAccessToken(
  header: { typ?: unknown; crit?: unknown },
  payload: Record<string, unknown>,
): OAuthPrincipal {
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : '';
  if (!ACCESS_TOKEN_TYPES.has(typ) || header.crit !== undefined || !isAccessTokenClaims(payload)) {
    throw OAuth2Error.invalidToken('The access token is invalid');
  }
  return {
    clientId: payload.client_id,
    subject: payload.sub,
    scopes: parseScope(payload.scope),
    claims: payload,
  };
}

function isAccessTokenClaims(payload: Record<string, unknown>): payload is OAuthAccessTokenClaims {
  return (
    typeof payload.sub === 'string' &&
    typeof payload.client_id === 'string' &&
    typeof payload.jti === 'string' &&
    typeof payload.exp === 'number' &&
    typeof payload.iat === 'number' &&
    (payload.scope === undefined || typeof payload.scope === 'string')
  );
}
