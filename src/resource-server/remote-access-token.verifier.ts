import { errors } from 'jose';
import { OAuth2Error } from '../errors/oauth2-error.js';
import type { OAuthPrincipal } from '../resource/access-token.interface.js';
import {
  invalidAccessToken,
  JwtAccessTokenReader,
  protectedHeaderOf,
} from '../resource/jwt-access-token.reader.js';
import { AccessTokenVerifier } from '../resource/access-token.verifier.js';
import { refusedAs } from '../resource/verification-outcome.js';
import {
  JwksUnavailableError,
  type JwksCache,
  type JwksVerificationKey,
} from '../keys/jwks-cache.js';
import type { OAuth2Verifier, OAuth2VerificationOutcome } from '../observability/metrics.js';
import type { OAuth2ResourceServerConfig } from './oauth2-resource-server-config.js';
import type { TokenIntrospector } from './token-introspector.js';

/**
 * Verifies access tokens with the issuer's published keys (RFC 9068 §4): the key of the issuer's JWK Set that
 * the token's `kid` and an allowed `alg` select (jose's JWK Set selection), then the same path as the module's
 * own guard (`JwtAccessTokenReader`: @nestjs/jwt on that key as a `KeyObject`, the key's algorithm only, the
 * exact `iss`, an `aud` that holds one of ours, `exp` within the clock tolerance, then the profile's `typ`,
 * `crit` and claims). With introspection on, the issuer is then asked whether the token is still active
 * (RFC 7662): the local checks, which cost no network call, filter garbage out first.
 * Every refusal is an `invalid_token` with a fixed description; keys that cannot be had, or an issuer that
 * cannot be asked, are a 503.
 *
 * A token that passed is remembered (`accessTokenCache`) until its `exp`: presented again while its key is
 * still in the JWK Set held (and that set within its max-age), the local checks are not run again;
 * introspection, when on, is asked every time.
 */
export class RemoteAccessTokenVerifier extends AccessTokenVerifier {
  override readonly kind: OAuth2Verifier;
  private readonly reader: JwtAccessTokenReader;
  private readonly keyOfToken = (token: string) => this.keyOf(token);
  private readonly keyInForce = (key: JwksVerificationKey) => this.keys.holds(key);

  constructor(
    private readonly config: OAuth2ResourceServerConfig,
    private readonly keys: JwksCache,
    private readonly introspector?: TokenIntrospector,
  ) {
    super();
    this.kind = introspector === undefined ? 'jwks' : 'introspection';
    this.reader = new JwtAccessTokenReader({
      issuer: config.issuer,
      audience: config.audience,
      clockTolerance: config.clockTolerance,
      maxEntries: config.accessTokenCache.maxEntries,
    });
  }

  /** Each refusal is marked with its outcome for the verifications metric; the response is the same. */
  override async verify(token: string): Promise<OAuthPrincipal> {
    const principal = await this.reader.readRemembered(token, this.keyOfToken, this.keyInForce);
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

  /** The key of the issuer's JWK Set for the token's header, with an algorithm this service accepts. */
  private async keyOf(token: string): Promise<JwksVerificationKey> {
    const header = protectedHeaderOf(token);
    const { alg } = header;
    if (typeof alg !== 'string' || !(this.config.algorithms as readonly string[]).includes(alg)) {
      throw refusedAs('invalid', invalidAccessToken());
    }
    try {
      return await this.keys.verificationKey({ ...header, alg });
    } catch (error) {
      // No key because the issuer could not be read: the token may well be good, so 503, not 401.
      if (error instanceof JwksUnavailableError) {
        throw refusedAs('unavailable', OAuth2Error.temporarilyUnavailable(error.retryAfter));
      }
      // Whatever else jose refuses in a header it was handed, the token is not one of ours.
      throw refusedAs(outcomeOfJoseError(error), invalidAccessToken());
    }
  }
}

/** What jose's refusal says: not a JWS or JWT at all, no key for its `kid`, or any other check failed. */
function outcomeOfJoseError(error: unknown): OAuth2VerificationOutcome {
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed';
  if (error instanceof errors.JWKSNoMatchingKey) return 'unknown_key';
  return 'invalid';
}
