import { SetMetadata } from '@nestjs/common';

export const OAUTH2_PUBLIC_METADATA = 'OAUTH2:PUBLIC';

/**
 * Exempts a route or controller from OAuth2Guard, for an app that installs the guard globally. The token
 * endpoint carries it: clients call it without an access token.
 */
export const OAuth2Public = (): MethodDecorator & ClassDecorator =>
  SetMetadata(OAUTH2_PUBLIC_METADATA, true);
