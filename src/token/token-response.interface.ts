/** The successful token response (RFC 6749 §5.1). There is never a refresh token for this grant (§4.4.3). */
export interface OAuthTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  /** The granted scope; absent when none was granted. */
  scope?: string;
}
