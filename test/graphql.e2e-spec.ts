import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { UseGuards, type INestApplication, type Provider } from '@nestjs/common';
import { Field, GraphQLModule, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import request from 'supertest';
import { OAuth2Guard, OAuth2Public, OAuthPrincipal, Scopes } from '../src/index.js';
import { startApp } from './support/app.js';
import { tokenClaims } from './support/fixtures.js';
import { signRaw } from './support/jwt.js';
import { otherEs256 } from './support/keys.js';
import {
  guardPlacements,
  inMemoryOAuth2Module,
  recordVerifications,
  testAccessToken,
} from './support/transports.js';

@ObjectType()
class Caller {
  @Field(() => String)
  clientId!: string;

  @Field(() => [String])
  scopes!: string[];
}

/**
 * Resolvers as an app writes them, with the decorators of a controller: behind `@UseGuards` on the class, or
 * for a global guard (APP_GUARD). A class per app: @nestjs/graphql keeps resolver metadata per class.
 */
function reportsResolver(guarded: boolean): Provider {
  @Resolver()
  @UseGuards(...(guarded ? [OAuth2Guard] : []))
  class ReportsResolver {
    @Query(() => Caller)
    whoami(@OAuthPrincipal() caller: OAuthPrincipal): Caller {
      return { clientId: caller.clientId, scopes: caller.scopes };
    }

    @Query(() => [String])
    @Scopes('reports:read')
    reports(@OAuthPrincipal('clientId') clientId: string): string[] {
      return [`monthly report for ${clientId}`];
    }

    @Mutation(() => Boolean)
    @Scopes('reports:write')
    archive(): boolean {
      return true;
    }

    @Query(() => String)
    @OAuth2Public()
    health(): string {
      return 'ok';
    }
  }
  return ReportsResolver;
}

const CHALLENGE = 'Bearer realm="Service"';
const SCOPE_DESCRIPTION = 'The access token does not grant the scope this resource requires';

describe.each(guardPlacements)(
  'OAuth2Guard in GraphQL resolvers, Apollo on Express ($name)',
  (placement) => {
    let app: INestApplication;
    let verification: jest.Mock;

    beforeAll(async () => {
      app = await startApp({
        imports: [
          inMemoryOAuth2Module(),
          GraphQLModule.forRoot<ApolloDriverConfig>({
            driver: ApolloDriver,
            autoSchemaFile: true,
            // As outside production: Apollo sends each error's stack trace, and the guard's has no frames.
            includeStacktraceInErrorResponses: true,
          }),
        ],
        providers: [reportsResolver(placement.onClass), ...placement.providers],
      });
      verification = recordVerifications(app);
    });

    afterAll(async () => {
      await app?.close();
    });

    const gql = (query: string, authorization?: string) => {
      const req = request(app.getHttpServer()).post('/graphql').send({ query });
      return authorization === undefined ? req : req.set('Authorization', authorization);
    };

    test('a valid token: data with the principal, counted once as valid', async () => {
      verification.mockClear();
      const res = await gql('{ whoami { clientId scopes } }', `Bearer ${testAccessToken()}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        data: { whoami: { clientId: 'testclient', scopes: ['reports:read', 'reports:write'] } },
      });
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(verification.mock.calls).toEqual([['local', 'valid']]);
    });

    test('@OAuthPrincipal(field) and @Scopes: the scope held → data', async () => {
      const res = await gql('{ reports }', `Bearer ${testAccessToken('reports:read')}`);
      expect(res.body).toEqual({ data: { reports: ['monthly report for testclient'] } });
    });

    test('no token: UNAUTHENTICATED with status 401 and no error code (RFC 6750 §3.1), the bare challenge', async () => {
      verification.mockClear();
      const res = await gql('{ whoami { clientId } }');
      expect(res.status).toBe(200);
      expect(res.headers['www-authenticate']).toBe(CHALLENGE);
      expect(res.body.data).toBeNull();
      expect(res.body.errors).toEqual([
        {
          message: 'Unauthorized',
          locations: [{ line: 1, column: 3 }],
          path: ['whoami'],
          extensions: {
            code: 'UNAUTHENTICATED',
            status: 401,
            stacktrace: ['OAuth2Error: Unauthorized'],
          },
        },
      ]);
      expect(verification.mock.calls).toEqual([['local', 'missing']]);
    });

    test('a token signed with another key: UNAUTHENTICATED invalid_token; no token, no stack frames', async () => {
      const bad = signRaw({ typ: 'at+jwt' }, tokenClaims(), otherEs256.privateKey);
      const res = await gql('{ whoami { clientId } }', `Bearer ${bad}`);
      const [error] = res.body.errors;
      expect(error.extensions).toEqual({
        code: 'UNAUTHENTICATED',
        status: 401,
        error: 'invalid_token',
        error_description: expect.any(String),
        stacktrace: [`OAuth2Error: ${error.extensions.error_description}`],
      });
      expect(error.message).toBe(error.extensions.error_description);
      expect(res.headers['www-authenticate']).toBe(
        `${CHALLENGE}, error="invalid_token", error_description="${error.extensions.error_description}"`,
      );
      expect(JSON.stringify(res.body)).not.toContain(bad.split('.')[1]);
    });

    test('a malformed Authorization header: BAD_REQUEST invalid_request', async () => {
      const res = await gql('{ whoami { clientId } }', 'Bearer a b');
      expect(res.body.errors[0].extensions).toMatchObject({
        code: 'BAD_REQUEST',
        status: 400,
        error: 'invalid_request',
        error_description: 'The Bearer credentials are malformed',
      });
      expect(res.headers['www-authenticate']).toBe(
        `${CHALLENGE}, error="invalid_request", error_description="The Bearer credentials are malformed"`,
      );
    });

    test('a missing scope: FORBIDDEN insufficient_scope naming the required scope, counted once', async () => {
      verification.mockClear();
      const res = await gql('mutation { archive }', `Bearer ${testAccessToken('reports:read')}`);
      expect(res.body.data).toBeNull();
      expect(res.body.errors[0]).toMatchObject({
        message: SCOPE_DESCRIPTION,
        path: ['archive'],
        extensions: {
          code: 'FORBIDDEN',
          status: 403,
          error: 'insufficient_scope',
          error_description: SCOPE_DESCRIPTION,
          scope: 'reports:write',
        },
      });
      expect(res.headers['www-authenticate']).toBe(
        `${CHALLENGE}, error="insufficient_scope", error_description="${SCOPE_DESCRIPTION}", scope="reports:write"`,
      );
      expect(verification.mock.calls).toEqual([['local', 'insufficient_scope']]);
    });

    test('an @OAuth2Public field answers without a token, nothing verified', async () => {
      verification.mockClear();
      const res = await gql('{ health }');
      expect(res.body).toEqual({ data: { health: 'ok' } });
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(verification).not.toHaveBeenCalled();
    });

    test('the token endpoint stays open, the GraphQL endpoint itself is no Nest route', async () => {
      const res = await request(app.getHttpServer())
        .post('/oauth2/token')
        .type('form')
        .send('grant_type=client_credentials');
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    });
  },
);
