import type { ExecutionContext } from '@nestjs/common';
import type { OAuth2HttpRequest } from '../http/http-request.js';
import { graphqlRequest } from './graphql-operation.js';
import { rpcRequest } from './rpc-message.js';

/** The transports OAuth2Guard knows: Nest's own context types, and @nestjs/graphql's. */
export type OAuth2Transport = 'http' | 'graphql' | 'rpc' | 'ws';

/**
 * The request OAuth2Guard reads the token from and puts the principal on, for each transport: the HTTP
 * request of a route or of a GraphQL operation, a view of a microservice message. What `@OAuthPrincipal()`
 * reads the principal from, too.
 */
export function requestOf(context: ExecutionContext): OAuth2HttpRequest {
  switch (context.getType<OAuth2Transport>()) {
    case 'graphql':
      return graphqlRequest(context);
    case 'rpc':
      return rpcRequest(context);
    default:
      return context.switchToHttp().getRequest<OAuth2HttpRequest>();
  }
}
