import type { OAuth2Error } from './oauth2-error.js';

/** Where an error is answered: the token endpoint (RFC 6749 §5.2) or a protected resource (RFC 6750 §3). */
export type OAuth2ErrorSite = 'token-endpoint' | 'protected-resource';

/** RFC 6749 §5.1: token endpoint responses must not be cached, errors included. */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
};

/** The errors of a protected resource that carry a Bearer challenge (RFC 6750 §3, §3.1). */
const BEARER_CHALLENGED = new Set<OAuth2Error['error']>([
  undefined,
  'invalid_request',
  'invalid_token',
  'insufficient_scope',
]);

/**
 * The one place that turns an OAuth2Error into response headers: the `WWW-Authenticate` challenge with the
 * configured realm, `Retry-After`, `Allow`, and no-store on the token endpoint. Error objects know what went
 * wrong; only this knows how it is said on the wire.
 */
export class OAuth2ErrorRenderer {
  /**
   * @param realm a quoted-string value already checked by the configuration
   * @param resourceMetadata the URL of the resource's RFC 9728 metadata, named in every Bearer challenge
   *   (RFC 9728 §5.1); a quoted-string value already checked by the configuration
   */
  constructor(
    private readonly realm: string,
    private readonly resourceMetadata?: string,
  ) {}

  headers(error: OAuth2Error, site: OAuth2ErrorSite): Record<string, string> {
    const headers: Record<string, string> =
      site === 'token-endpoint' ? { ...NO_STORE_HEADERS } : {};
    const challenge = this.challenge(error, site);
    if (challenge !== undefined) headers['WWW-Authenticate'] = challenge;
    if (error.extras.retryAfter !== undefined)
      headers['Retry-After'] = String(error.extras.retryAfter);
    if (error.extras.allow !== undefined) headers.Allow = error.extras.allow;
    return headers;
  }

  private challenge(error: OAuth2Error, site: OAuth2ErrorSite): string | undefined {
    const realm = `realm="${this.realm}"`;
    if (site === 'token-endpoint') {
      // RFC 6749 §5.2: a 401 invalid_client names the scheme the client can authenticate with (a 429 of
      // throttled authentication asks it to wait, not to authenticate).
      return error.error === 'invalid_client' && error.getStatus() === 401
        ? `Basic ${realm}`
        : undefined;
    }
    if (!BEARER_CHALLENGED.has(error.error)) return undefined;
    // RFC 6750 §3: auth-params are quoted-strings; descriptions and scope tokens hold neither `"` nor `\`.
    const params = [realm];
    if (error.error !== undefined) params.push(`error="${error.error}"`);
    if (error.description !== undefined) params.push(`error_description="${error.description}"`);
    if (error.extras.scope !== undefined) params.push(`scope="${error.extras.scope.join(' ')}"`);
    if (this.resourceMetadata !== undefined) {
      params.push(`resource_metadata="${this.resourceMetadata}"`);
    }
    return `Bearer ${params.join(', ')}`;
  }
}
