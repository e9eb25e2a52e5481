import type { ExecutionContext } from '@nestjs/common';
import { OAuth2Error } from '../errors/oauth2-error.js';
import type { OAuth2HttpRequest } from '../http/http-request.js';
import { refusalOf, type OAuth2Refusal } from './oauth2-refusal.js';

/** What a GraphQL resolver's context holds: the HTTP request behind the operation, and maybe its response. */
interface GraphQLContext {
  req?: unknown;
  res?: unknown;
  reply?: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/** A resolver's arguments are (root, args, context, info): the context is the third. */
function graphqlContext(context: ExecutionContext): GraphQLContext {
  const value = context.getArgByIndex<unknown>(2);
  return isObject(value) ? value : {};
}

/**
 * The HTTP request that carried the GraphQL operation: `req` of the GraphQL context, which the Apollo driver
 * of @nestjs/graphql always sets (read here, so the library does not import @nestjs/graphql).
 */
export function graphqlRequest(context: ExecutionContext): OAuth2HttpRequest {
  const { req } = graphqlContext(context);
  if (!isObject(req) || !isObject(req.headers)) {
    throw new TypeError(
      'OAuth2Guard: the GraphQL context has no HTTP request as `req`; return it from the GraphQLModule `context` option',
    );
  }
  return req as OAuth2HttpRequest;
}

/**
 * The HTTP response of the operation, where there is one: `res` (or Fastify's `reply`) of the GraphQL
 * context, else Express's `req.res`. None over a subscription's WebSocket.
 */
export function graphqlResponse(context: ExecutionContext): object | undefined {
  const { req, res, reply } = graphqlContext(context);
  const response = res ?? reply ?? (isObject(req) ? req.res : undefined);
  return isObject(response) ? response : undefined;
}

/** The `extensions.code` Apollo Server and @nestjs/apollo give these HTTP statuses. */
const CODES: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
};

/**
 * An OAuth2Guard refusal as a GraphQL error: `extensions` hold `code` (UNAUTHENTICATED, FORBIDDEN,
 * BAD_REQUEST, else INTERNAL_SERVER_ERROR) and the refusal's data (`status`, RFC 6750 §3 `error` and
 * `error_description`, `scope`, `retry_after`). graphql-js copies `extensions` of an error a resolver throws
 * into the error it reports, so neither `graphql` nor @nestjs/graphql is imported here.
 *
 * It stays an OAuth2Error (an HttpException, so Nest does not log it as a crash), whose response has no
 * `statusCode`: @nestjs/apollo's own HttpException formatting leaves it as it is. Its stack is its first line
 * only, so a server that sends stack traces (Apollo outside production) shows no frames.
 */
export class OAuth2GraphQLError extends OAuth2Error {
  readonly extensions: Readonly<Omit<OAuth2Refusal, 'message'> & { code: string }>;

  constructor(refusal: OAuth2Error) {
    super(refusal.error, refusal.getStatus(), refusal.description, refusal.extras);
    const { message, ...data } = refusalOf(refusal);
    this.message = message;
    this.extensions = { code: CODES[data.status] ?? 'INTERNAL_SERVER_ERROR', ...data };
    this.stack = `${this.name}: ${message}`;
  }
}
