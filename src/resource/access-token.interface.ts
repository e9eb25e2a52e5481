/** The claims of an access token this library issues (RFC 9068 §2.2). */
export interface OAuthAccessTokenClaims {
  iss: string;
  /** The client's user_id when set, else the client id. */
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  /** Space-separated granted scopes; absent when none were granted. */
  scope?: string;
  [claim: string]: unknown;
}

/** Who called a protected route: what `@OAuthPrincipal()` gives a handler. */
export interface OAuthPrincipal {
  clientId: string;
  subject: string;
  scopes: string[];
  claims: OAuthAccessTokenClaims;
}
