import type { OAuthClient } from '../clients/oauth-client.entity.js';
import type { PresentedCredentials } from './client-credentials.js';

const CREDENTIALS = Symbol('oauth2.presentedCredentials');

/** Where ClientAuthGuard leaves the authenticated client on the request. */
export const OAUTH2_CLIENT_PROPERTY = 'oauth2Client';

export function setPresentedCredentials(request: object, credentials: PresentedCredentials): void {
  (request as Record<symbol, unknown>)[CREDENTIALS] = credentials;
}

export function presentedCredentialsOf(request: object): PresentedCredentials {
  const credentials = (request as Record<symbol, PresentedCredentials | undefined>)[CREDENTIALS];
  if (!credentials) throw new Error('ClientAuthGuard did not run for this request');
  return credentials;
}

/** The client ClientAuthGuard authenticated. */
export function authenticatedClientOf(request: object): OAuthClient {
  const client = (request as Record<string, OAuthClient | undefined>)[OAUTH2_CLIENT_PROPERTY];
  if (!client) throw new Error('ClientAuthGuard did not run for this request');
  return client;
}
