import type { OAuthClient } from '../clients/oauth-client.entity.js';
import type { ClientAuthenticator } from './client-authenticator.service.js';
import type { PresentedCredentials } from './client-credentials.js';

const PRESENTED = Symbol('oauth2.presentedCredentials');

/** Where ClientAuthGuard leaves the authenticated client on the request. */
export const OAUTH2_CLIENT_PROPERTY = 'oauth2Client';

interface Presented {
  credentials: PresentedCredentials;
  authenticator: ClientAuthenticator;
}

/** ClientAuthGuard records what the request carries, and which module's authenticator checks it. */
export function setPresentedCredentials(
  request: object,
  credentials: PresentedCredentials,
  authenticator: ClientAuthenticator,
): void {
  (request as Record<symbol, Presented>)[PRESENTED] = { credentials, authenticator };
}

/**
 * What a Passport strategy runs. Passport's strategy registry is process-wide: with two OAuth2Module apps in
 * one process, the strategy registered last serves both. So a strategy holds no module state of its own and
 * uses the authenticator (repository, options) of the module whose guard handled this request.
 */
export function authenticatePresented(request: object): Promise<OAuthClient> {
  const presented = (request as Record<symbol, Presented | undefined>)[PRESENTED];
  if (!presented) throw new Error('ClientAuthGuard did not run for this request');
  const { clientId, clientSecret } = presented.credentials;
  return presented.authenticator.authenticate(clientId, clientSecret);
}

/** The client ClientAuthGuard authenticated. */
export function authenticatedClientOf(request: object): OAuthClient {
  const client = (request as Record<string, OAuthClient | undefined>)[OAUTH2_CLIENT_PROPERTY];
  if (!client) throw new Error('ClientAuthGuard did not run for this request');
  return client;
}
