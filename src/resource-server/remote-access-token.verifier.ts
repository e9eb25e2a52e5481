import { errors, jwtVerify } from 'jose';
import { OAuth2Error } from '../errors/oauth2-error.js';
import type { OAuthPrincipal } from '../resource/access-token.interface.js';
import {
  MAX_ACCESS_TOKEN_LENGTH,
  principalOfAccessToken,
} from '../resource/access-token.profile.js';
import { AccessTokenVerifier } from '../resource/access-token.verifier.js';
import { refusedAs } from '../resource/verification-outcome.js';
import { JwksUnavailableError, type JwksCache } from '../keys/jwks-cache.js';
import type { OAuth2Verifier, OAuth2VerificationOutcome } from '../observability/metrics.js';
import type { OAuth2ResourceServerConfig } from './oauth2-resource-server-config.js';
import type { TokenIntrospector } from './token-introspector.js';

/**
 * Verifies access tokens with the issuer's published keys (RFC 9068 §4), through panva/jose: the signature
 * with an allowed algorithm and a key of the issuer's JWK Set, the exact `iss`, an `aud` that holds one of
 * ours, `exp` (and `nbf`, `iat`) within the clock tolerance, then the profile's `typ`, `crit` and claims.
 * With introspection on, the issuer is then asked whether the token is still active (RFC 7662): the local
 * checks, which cost no network call, filter garbage out first.
 * Every refusal is an `invalid_token` with a fixed description; keys that cannot be had, or an issuer that
 * cannot be asked, are a 503.
 */
export class RemoteAccessTokenVerifier extends AccessTokenVerifier {
  override readonly kind: OAuth2Verifier;

  constructor(
    private readonly config: OAuth2ResourceServerConfig,
    private readonly keys: JwksCache,
    private readonly introspector?: TokenIntrospector,
  ) {
    super();
    this.kind = introspector === undefined ? 'jwks' : 'introspection';
  }

  /** Each refusal is marked with its outcome for the verifications metric; the response is the same. */
  override async verify(token: string): Promise<OAuthPrincipal> {
    if (token.length > MAX_ACCESS_TOKEN_LENGTH) throw refusedAs('malformed', invalidAccessToken());
    let verified: Awaited<ReturnType<typeof jwtVerify>>;
    try {
      verified = await jwtVerify(token, this.keys.resolve, {
        issuer: this.config.issuer,
        audience: [...this.config.audience],
        algorithms: [...this.config.algorithms],
        clockTolerance: this.config.clockTolerance,
        requiredClaims: ['exp'],
      });
    } catch (error) {
      // No key because the issuer could not be read: the token may well be good, so 503, not 401.
      if (error instanceof JwksUnavailableError) {
        throw refusedAs('unavailable', OAuth2Error.temporarilyUnavailable(error.retryAfter));
      }
      if (error instanceof errors.JWTExpired) {
        throw refusedAs('expired', OAuth2Error.invalidToken('The access token expired'));
      }
      // Whatever else jose refuses (or trips over) in a token it was handed, the token is not one of ours.
      throw refusedAs(outcomeOfJoseError(error), invalidAccessToken());
    }
    const principal = principalOfAccessToken(verified.protectedHeader, verified.payload);
    try {
      await this.introspector?.check(token, principal);
    } catch (error) {
      // The issuer says the token is no longer active (RFC 7662 §2.2): revoked, since it has not expired.
      throw error instanceof OAuth2Error && error.error === 'invalid_token'
        ? refusedAs('revoked', error)
        : error;
    }
    return principal;
  }
}

/** What jose's refusal says: not a JWS or JWT at all, no key for its `kid`, or any other check failed. */
function outcomeOfJoseError(error: unknown): OAuth2VerificationOutcome {
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed';
  if (error instanceof errors.JWKSNoMatchingKey) return 'unknown_key';
  return 'invalid';
}

/** The one refusal of a token that is not ours, whatever is wrong with it. */
function invalidAccessToken(): OAuth2Error {
  return OAuth2Error.invalidToken('The access token is invalid');
}
