/**
 * `@nest-oauth2/server/swagger`: the OAuth 2.0 client credentials flow in an @nestjs/swagger document. A
 * subpath of its own, so that only the apps that import it need @nestjs/swagger (an optional peer).
 */
export { createOAuth2Document, type OAuth2DocumentOptions } from './oauth2-document.js';
