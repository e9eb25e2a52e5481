import type { OAuthPrincipal } from './access-token.interface.js';

/**
 * Checks an access token for OAuth2Guard and says whose it is. `OAuth2Module` provides one that verifies
 * with the keys it signs with; override the provider to verify another way.
 */
export abstract class AccessTokenVerifier {
  /** The token's principal; rejects with an OAuth2Error `invalid_token` for any token it does not accept. */
  abstract verify(token: string): Promise<OAuthPrincipal>;
}
