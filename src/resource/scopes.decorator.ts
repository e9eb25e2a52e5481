import { SetMetadata } from '@nestjs/common';
import { SCOPE_PATTERN } from '../http/scope.js';

export const OAUTH2_SCOPES_METADATA = 'OAUTH2:SCOPES';

/**
 * Scopes an access token must all hold to reach the route (RFC 6750 §3.1 insufficient_scope otherwise).
 * On a controller and a route both, the token needs the scopes of both.
 */
export const Scopes = (...scopes: string[]): MethodDecorator & ClassDecorator => {
  for (const scope of scopes) {
    if (!SCOPE_PATTERN.test(scope) || scope.includes(' ')) {
      throw new TypeError(
        `@Scopes(): ${JSON.stringify(scope)} is not an RFC 6749 §3.3 scope token`,
      );
    }
  }
  return SetMetadata(OAUTH2_SCOPES_METADATA, scopes);
};
