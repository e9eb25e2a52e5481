import { describe, expect, test } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/internal';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { graphqlRequest, graphqlResponse, OAuth2GraphQLError } from './graphql-operation.js';
import { thrownAs } from '../../test/support/thrown.js';

const SCOPE_DESCRIPTION = 'The access token does not grant the scope this resource requires';

/** A resolver's context as Nest builds it: (root, args, context, info), typed 'graphql'. */
function operation(graphqlContext: unknown): ExecutionContext {
  const host = new ExecutionContextHost([undefined, {}, graphqlContext, {}]);
  host.setType('graphql');
  return host;
}

describe('graphqlRequest', () => {
  test('the HTTP request is `req` of the GraphQL context', () => {
    const req = { method: 'POST', headers: {} };
    expect(graphqlRequest(operation({ req }))).toBe(req);
  });

  test.each([
    ['no context', undefined],
    ['no req', {}],
    ['a req without headers', { req: {} }],
  ])('%s → a TypeError saying what to configure', (_name, graphqlContext) => {
    const error = thrownAs(TypeError, () => graphqlRequest(operation(graphqlContext)));
    expect(error.message).toContain('GraphQLModule `context` option');
  });
});

describe('graphqlResponse', () => {
  const res = { id: 'res' };
  test.each([
    ['`res` of the context', { req: { res: {} }, res }],
    ['Fastify’s `reply` of the context', { req: {}, reply: res }],
    ['Express’s req.res', { req: { res } }],
  ])('%s', (_name, graphqlContext) => {
    expect(graphqlResponse(operation(graphqlContext))).toBe(res);
  });

  test('none (a subscription over a WebSocket) → undefined', () => {
    expect(graphqlResponse(operation({ req: {} }))).toBeUndefined();
  });
});

describe('OAuth2GraphQLError', () => {
  test.each([
    [OAuth2Error.missingToken(), 'Unauthorized', { code: 'UNAUTHENTICATED', status: 401 }],
    [
      OAuth2Error.invalidToken('The access token expired'),
      'The access token expired',
      {
        code: 'UNAUTHENTICATED',
        status: 401,
        error: 'invalid_token',
        error_description: 'The access token expired',
      },
    ],
    [
      OAuth2Error.insufficientScope(['reports:read', 'reports:write']),
      SCOPE_DESCRIPTION,
      {
        code: 'FORBIDDEN',
        status: 403,
        error: 'insufficient_scope',
        error_description: SCOPE_DESCRIPTION,
        scope: 'reports:read reports:write',
      },
    ],
    [
      OAuth2Error.invalidRequest('The Bearer credentials are malformed'),
      'The Bearer credentials are malformed',
      {
        code: 'BAD_REQUEST',
        status: 400,
        error: 'invalid_request',
        error_description: 'The Bearer credentials are malformed',
      },
    ],
    [
      OAuth2Error.temporarilyUnavailable(5),
      'The service is temporarily unavailable, retry later',
      {
        code: 'INTERNAL_SERVER_ERROR',
        status: 503,
        error: 'server_error',
        error_description: 'The service is temporarily unavailable, retry later',
        retry_after: 5,
      },
    ],
  ])('%p → extensions with the code Apollo gives its status', (refusal, message, extensions) => {
    const error = new OAuth2GraphQLError(refusal);
    expect(error.message).toBe(message);
    expect(error.extensions).toEqual(extensions);
  });

  test('still the OAuth2Error it maps, with a stack of its first line only', () => {
    const refusal = OAuth2Error.invalidToken('The access token expired');
    const error = new OAuth2GraphQLError(refusal);
    expect(error).toBeInstanceOf(OAuth2Error);
    expect(error.getStatus()).toBe(401);
    expect(error.body).toEqual(refusal.body);
    expect(error.stack).toBe('OAuth2Error: The access token expired');
  });
});
