/**
 * `@nest-oauth2/server/testing`: access tokens for a team's own e2e tests of its resource controllers, with no
 * database and no network. Test code only: the main entry never imports it.
 */
export { OAuth2TestTokens } from './oauth2-test-tokens.js';
export type { OAuth2TestApp } from './oauth2-test-tokens.js';
export { OAuth2TestIssuer } from './oauth2-test-issuer.js';
export type { OAuth2TestIssuerOptions, OAuth2OverridableModule } from './oauth2-test-issuer.js';
export {
  OAuth2TestTokenMinter,
  OAUTH2_TEST_TOKEN_FLAWS,
  UNKNOWN_KEY_ID,
  WRONG_AUDIENCE,
  WRONG_ISSUER,
} from './test-token-minter.js';
export type {
  OAuth2TestTokenFlaw,
  OAuth2TestTokenOptions,
  OAuth2TestSigningKey,
} from './test-token-minter.js';
