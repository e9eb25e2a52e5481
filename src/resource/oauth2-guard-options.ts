/**
 * What OAuth2Guard reads besides its verifier. `OAuth2Module` provides its checked options (`OAuth2Config`) as
 * this, so a guard works the same in the app that issues tokens and in a service that only accepts them.
 */
export abstract class OAuth2GuardOptions {
  /** The realm of `WWW-Authenticate` challenges. */
  abstract readonly realm: string;
  /** Whether a form-encoded POST body may carry the token (RFC 6750 §2.2). */
  abstract readonly allowAccessTokenInBody: boolean;
}
