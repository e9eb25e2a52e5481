import type { OAuthPrincipal } from './access-token.interface.js';

/** Where OAuth2Guard puts the principal on the request it read the token from. */
export const PRINCIPAL = Symbol('oauth2.principal');

/** The principal OAuth2Guard attached to the request, if it ran. */
export function principalOf(request: object): OAuthPrincipal | undefined {
  return (request as Record<symbol, OAuthPrincipal | undefined>)[PRINCIPAL];
}
