import { HttpStatus, type ExecutionContext } from '@nestjs/common';
import { OAuth2Error } from '../errors/oauth2-error.js';
import type { OAuth2HttpRequest } from '../http/http-request.js';
import { graphqlRequest } from './graphql-operation.js';
import { rpcRequest } from './rpc-message.js';

/** The transports OAuth2Guard knows: Nest's own context types, and @nestjs/graphql's. */
export type OAuth2Transport = 'http' | 'graphql' | 'rpc' | 'ws';

/**
 * The request OAuth2Guard reads the token from and puts the principal on, for each transport: the HTTP
 * request of a route or of a GraphQL operation, a view of a microservice message. What `@OAuthPrincipal()`
 * reads the principal from, too.
 *
 * A WebSocket gateway's message has no request: its client is a socket (ws, socket.io) whose handshake is
 * behind it, so the guard refuses there with a server_error that says so, never a TypeError from reading a
 * socket as a request. A gateway authenticates its connection itself, or is marked `@OAuth2Public()`.
 */
export function requestOf(context: ExecutionContext): OAuth2HttpRequest {
  switch (context.getType<OAuth2Transport>()) {
    case 'graphql':
      return graphqlRequest(context);
    case 'rpc':
      return rpcRequest(context);
    case 'ws':
      throw new OAuth2Error(
        'server_error',
        HttpStatus.INTERNAL_SERVER_ERROR,
        'OAuth2Guard does not guard WebSocket gateway messages',
      );
    default:
      return context.switchToHttp().getRequest<OAuth2HttpRequest>();
  }
}
