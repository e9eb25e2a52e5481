import type { OAuth2Verifier } from '../observability/metrics.js';
import type { OAuthPrincipal } from './access-token.interface.js';

/**
 * Checks an access token for OAuth2Guard and says whose it is. `OAuth2Module` provides one that verifies
 * with the keys it signs with; override the provider to verify another way.
 */
export abstract class AccessTokenVerifier {
  /**
   * How tokens are verified, the `oauth2.verifier` attribute of the `oauth2.token.verifications` metric:
   * `local` (the keys of this app), `jwks` (a remote JWK Set) or `introspection` (RFC 7662).
   */
  readonly kind: OAuth2Verifier = 'local';

  /** The token's principal; rejects with an OAuth2Error `invalid_token` for any token it does not accept. */
  abstract verify(token: string): Promise<OAuthPrincipal>;
}
