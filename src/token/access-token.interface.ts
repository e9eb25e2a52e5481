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

/** The successful token response (RFC 6749 §5.1). There is never a refresh token for this grant (§4.4.3). */
export interface OAuthTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  /** The granted scope; absent when none was granted. */
  scope?: string;
}

/** Who called a protected route: what `@OAuthPrincipal()` gives a handler. */
export interface OAuthPrincipal {
  clientId: string;
  subject: string;
  scopes: string[];
  claims: OAuthAccessTokenClaims;
}
