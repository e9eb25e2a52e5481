import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { OAuthPrincipal as Principal } from './access-token.interface.js';
import { principalOf } from './principal.js';
import { requestOf } from './transport-request.js';

/**
 * The caller OAuth2Guard authenticated, or one of its fields: `@OAuthPrincipal() principal: OAuthPrincipal`,
 * `@OAuthPrincipal('clientId') clientId: string`. In a route, a GraphQL resolver or a microservice handler.
 */
export const OAuthPrincipal = createParamDecorator(
  (field: keyof Principal | undefined, context: ExecutionContext) => {
    const principal = principalOf(requestOf(context));
    return field ? principal?.[field] : principal;
  },
);

/** Who called a protected route (the same name as the decorator, so one import serves both). */
export type OAuthPrincipal = Principal;
