import { beforeEach, describe, expect, jest, test } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/internal';
import { RpcException, TcpContext } from '@nestjs/microservices';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { OAuth2ErrorRenderer } from '../errors/oauth2-error.renderer.js';
import type { OAuth2HttpRequest } from '../http/http-request.js';
import { OAuth2Config } from '../oauth2-config.js';
import type { OAuth2ModuleOptions } from '../oauth2-options.interface.js';
import type { OAuthPrincipal } from './access-token.interface.js';
import type { AccessTokenVerifier } from './access-token.verifier.js';
import { OAuth2GraphQLError } from './graphql-operation.js';
import { OAuth2Public } from './oauth2-public.decorator.js';
import { OAuth2Guard, principalOf } from './oauth2.guard.js';
import { Scopes } from './scopes.decorator.js';
import { requestOf } from './transport-request.js';
import { rejectedAs } from '../../test/support/thrown.js';

const FORM = 'application/x-www-form-urlencoded';
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdmMifQ.c2ln';
const SCOPE_DESCRIPTION = 'The access token does not grant the scope this resource requires';

const principal = (scopes: string[]): OAuthPrincipal => ({
  clientId: 'svc',
  subject: 'svc',
  scopes,
  claims: {
    iss: 'https://auth.example.com',
    sub: 'svc',
    aud: 'https://auth.example.com',
    exp: 2,
    iat: 1,
    jti: 'j',
    client_id: 'svc',
    scope: scopes.join(' '),
  },
});

class OpenRoutes {
  handler(): void {}
  @Scopes('reports:read')
  scoped(): void {}
  @OAuth2Public()
  open(): void {}
}

@Scopes('reports:read')
class ReportsController {
  list(): void {}
  @Scopes('reports:write', 'reports:read')
  write(): void {}
}

@OAuth2Public()
class PublicController {
  @Scopes('admin')
  anything(): void {}
}

interface Setup {
  guard: OAuth2Guard;
  verify: jest.Mock<AccessTokenVerifier['verify']>;
  setHeader: jest.Mock<(response: unknown, name: string, value: string) => void>;
}

function setup(options: Partial<OAuth2ModuleOptions> = {}): Setup {
  const config = new OAuth2Config({
    issuer: 'https://auth.example.com',
    signing: { algorithm: 'HS256', secret: 'x'.repeat(32) },
    ...options,
  });
  const verify = jest.fn<AccessTokenVerifier['verify']>();
  const setHeader = jest.fn<(response: unknown, name: string, value: string) => void>();
  const adapterHost = { httpAdapter: { setHeader } } as unknown as HttpAdapterHost;
  const guard = new OAuth2Guard(
    new Reflector(),
    { verify } as unknown as AccessTokenVerifier,
    config,
    new OAuth2ErrorRenderer(config.realm),
    adapterHost,
  );
  return { guard, verify, setHeader };
}

const RESPONSE = { id: 'response' };

function context(
  req: OAuth2HttpRequest,
  target: [object, string] = [OpenRoutes, 'handler'],
  type = 'http',
): ExecutionContext {
  const [cls, method] = target;
  return {
    getType: () => type,
    getClass: () => cls,
    getHandler: () => (cls as { prototype: Record<string, unknown> }).prototype[method],
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => RESPONSE }),
  } as unknown as ExecutionContext;
}

function get(headers: Record<string, string> = {}, extra: Partial<OAuth2HttpRequest> = {}) {
  return { method: 'GET', headers, ...extra } as OAuth2HttpRequest;
}

function postForm(body: unknown, headers: Record<string, string> = {}): OAuth2HttpRequest {
  return { method: 'POST', headers: { 'content-type': FORM, ...headers }, body };
}

/** The headers the guard set through the adapter, on the response of the context. */
function headersSet(setHeader: Setup['setHeader']): Record<string, string> {
  for (const [response] of setHeader.mock.calls) expect(response).toBe(RESPONSE);
  return Object.fromEntries(setHeader.mock.calls.map(([, name, value]) => [name, value]));
}

describe('OAuth2Guard', () => {
  let s: Setup;
  beforeEach(() => {
    s = setup();
  });

  describe('RFC 6750 §2.1: the Authorization header', () => {
    test('a valid token → true; the principal is on the request', async () => {
      const p = principal([]);
      s.verify.mockResolvedValueOnce(p);
      const req = get({ authorization: `Bearer ${TOKEN}` });
      await expect(s.guard.canActivate(context(req))).resolves.toBe(true);
      expect(s.verify.mock.calls).toEqual([[TOKEN]]);
      expect(principalOf(req)).toBe(p);
      expect(s.setHeader).not.toHaveBeenCalled();
    });

    test.each(['bearer', 'BEARER', 'BeArEr'])('RFC 9110 §11.1: scheme %s', async (scheme) => {
      s.verify.mockResolvedValueOnce(principal([]));
      await s.guard.canActivate(context(get({ authorization: `${scheme} ${TOKEN}` })));
      expect(s.verify.mock.calls).toEqual([[TOKEN]]);
    });

    test('RFC 9110 §11.4: 1*SP before the token', async () => {
      s.verify.mockResolvedValueOnce(principal([]));
      await s.guard.canActivate(context(get({ authorization: `Bearer   ${TOKEN}` })));
      expect(s.verify.mock.calls).toEqual([[TOKEN]]);
    });

    test.each([
      ['a space inside', 'Bearer abc def', 'The Bearer credentials are malformed'],
      ['no token', 'Bearer', 'The Bearer credentials are malformed'],
      ['a quoted token', 'Bearer "abc"', 'The Bearer credentials are malformed'],
      ['a tab', `Bearer\t${TOKEN}`, 'The Authorization header is malformed'],
      ['an empty header', '', 'The Authorization header is malformed'],
    ])('%s → 400 invalid_request with its Bearer challenge', async (_name, header, description) => {
      const error = await rejectedAs(
        OAuth2Error,
        s.guard.canActivate(context(get({ authorization: header }))),
      );
      expect(error.error).toBe('invalid_request');
      expect(error.getStatus()).toBe(400);
      expect(error.description).toBe(description);
      expect(headersSet(s.setHeader)).toEqual({
        'WWW-Authenticate': `Bearer realm="Service", error="invalid_request", error_description="${description}"`,
      });
      expect(s.verify).not.toHaveBeenCalled();
    });

    test('another scheme carries no token → the bare challenge', async () => {
      const error = await rejectedAs(
        OAuth2Error,
        s.guard.canActivate(context(get({ authorization: 'Basic YWI6Y2Q=' }))),
      );
      expect(error.error).toBeUndefined();
      expect(error.getStatus()).toBe(401);
      expect(headersSet(s.setHeader)).toEqual({ 'WWW-Authenticate': 'Bearer realm="Service"' });
    });
  });

  describe('RFC 6750 §3.1: no token', () => {
    test('→ 401 with the bare challenge (no error, empty body), set through the adapter', async () => {
      const error = await rejectedAs(OAuth2Error, s.guard.canActivate(context(get())));
      expect(error.getStatus()).toBe(401);
      expect(error.error).toBeUndefined();
      expect(error.body).toEqual({});
      expect(s.setHeader.mock.calls).toEqual([
        [RESPONSE, 'WWW-Authenticate', 'Bearer realm="Service"'],
      ]);
      expect(s.verify).not.toHaveBeenCalled();
    });

    test('the configured realm is the realm of the challenge', async () => {
      const custom = setup({ realm: 'Reports API' });
      await rejectedAs(OAuth2Error, custom.guard.canActivate(context(get())));
      expect(headersSet(custom.setHeader)).toEqual({
        'WWW-Authenticate': 'Bearer realm="Reports API"',
      });
    });
  });

  describe('RFC 6750 §2.2, §2.3: body and query', () => {
    test('§2.3: a query-string token is never read', async () => {
      const req = get({}, { query: { access_token: TOKEN }, url: `/r?access_token=${TOKEN}` });
      const error = await rejectedAs(OAuth2Error, s.guard.canActivate(context(req)));
      expect(error.error).toBeUndefined();
      expect(s.verify).not.toHaveBeenCalled();
    });

    test('§2.2: a body token is ignored while allowAccessTokenInBody is off', async () => {
      const error = await rejectedAs(
        OAuth2Error,
        s.guard.canActivate(context(postForm({ access_token: TOKEN }))),
      );
      expect(error.error).toBeUndefined();
      expect(s.verify).not.toHaveBeenCalled();
    });

    describe('with allowAccessTokenInBody', () => {
      beforeEach(() => {
        s = setup({ allowAccessTokenInBody: true });
      });

      test('§2.2: a form-encoded POST body token is read', async () => {
        s.verify.mockResolvedValueOnce(principal([]));
        await expect(
          s.guard.canActivate(context(postForm({ access_token: TOKEN, other: 'x' }))),
        ).resolves.toBe(true);
        expect(s.verify.mock.calls).toEqual([[TOKEN]]);
      });

      test('§2.2: next to another Authorization scheme, the body token is read', async () => {
        s.verify.mockResolvedValueOnce(principal([]));
        await s.guard.canActivate(
          context(postForm({ access_token: TOKEN }, { authorization: 'Basic YWI6Y2Q=' })),
        );
        expect(s.verify.mock.calls).toEqual([[TOKEN]]);
      });

      test.each([
        [
          'a GET',
          { method: 'GET', headers: { 'content-type': FORM }, body: { access_token: TOKEN } },
        ],
        [
          'a JSON body',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: { access_token: TOKEN },
          },
        ],
        [
          'a PUT',
          { method: 'PUT', headers: { 'content-type': FORM }, body: { access_token: TOKEN } },
        ],
        [
          'a string body',
          { method: 'POST', headers: { 'content-type': FORM }, body: 'access_token=x' },
        ],
        ['no body', { method: 'POST', headers: { 'content-type': FORM } }],
        [
          'an empty access_token',
          { method: 'POST', headers: { 'content-type': FORM }, body: { access_token: '' } },
        ],
      ])('§2.2: %s is not a body token → the bare challenge', async (_name, req) => {
        const error = await rejectedAs(
          OAuth2Error,
          s.guard.canActivate(context(req as OAuth2HttpRequest)),
        );
        expect(error.error).toBeUndefined();
        expect(s.verify).not.toHaveBeenCalled();
      });

      test('§2.2: a form POST whose body is null carries no token → 401 bare challenge, not a crash', async () => {
        const error = await rejectedAs(OAuth2Error, s.guard.canActivate(context(postForm(null))));
        expect(error.getStatus()).toBe(401);
        expect(error.error).toBeUndefined();
        expect(headersSet(s.setHeader)).toEqual({ 'WWW-Authenticate': 'Bearer realm="Service"' });
        expect(s.verify).not.toHaveBeenCalled();
      });

      test('§2.2: a null body next to a Bearer header: the header token is read', async () => {
        s.verify.mockResolvedValueOnce(principal([]));
        await expect(
          s.guard.canActivate(context(postForm(null, { authorization: `Bearer ${TOKEN}` }))),
        ).resolves.toBe(true);
        expect(s.verify.mock.calls).toEqual([[TOKEN]]);
      });

      test('§2: header and body both → 400 invalid_request with the Bearer challenge set', async () => {
        const req = postForm({ access_token: TOKEN }, { authorization: `Bearer ${TOKEN}` });
        const error = await rejectedAs(OAuth2Error, s.guard.canActivate(context(req)));
        expect(error.error).toBe('invalid_request');
        expect(error.getStatus()).toBe(400);
        expect(error.description).toBe('The access token was sent by more than one method');
        expect(s.setHeader.mock.calls).toEqual([
          [
            RESPONSE,
            'WWW-Authenticate',
            'Bearer realm="Service", error="invalid_request", ' +
              'error_description="The access token was sent by more than one method"',
          ],
        ]);
        expect(s.verify).not.toHaveBeenCalled();
      });

      test('§3.1: a repeated access_token → 400 invalid_request', async () => {
        const error = await rejectedAs(
          OAuth2Error,
          s.guard.canActivate(context(postForm({ access_token: [TOKEN, TOKEN] }))),
        );
        expect(error.error).toBe('invalid_request');
        expect(error.getStatus()).toBe(400);
        expect(error.description).toBe('The access_token parameter is repeated or malformed');
      });
    });
  });

  describe('RFC 6750 §3.1: scopes', () => {
    test('no @Scopes: any valid token passes', async () => {
      s.verify.mockResolvedValueOnce(principal([]));
      await expect(
        s.guard.canActivate(context(get({ authorization: `Bearer ${TOKEN}` }))),
      ).resolves.toBe(true);
    });

    test('the route’s scope held → true', async () => {
      s.verify.mockResolvedValueOnce(principal(['reports:read']));
      await expect(
        s.guard.canActivate(
          context(get({ authorization: `Bearer ${TOKEN}` }), [OpenRoutes, 'scoped']),
        ),
      ).resolves.toBe(true);
    });

    test('controller and method scopes merge: holding all of them passes', async () => {
      s.verify.mockResolvedValueOnce(principal(['reports:write', 'other', 'reports:read']));
      await expect(
        s.guard.canActivate(
          context(get({ authorization: `Bearer ${TOKEN}` }), [ReportsController, 'write']),
        ),
      ).resolves.toBe(true);
    });

    test.each([
      ['the method’s scope missing', ['reports:read']],
      ['the controller’s scope missing', ['reports:write']],
      ['no scope', []],
    ])('merged controller + method scopes, %s → 403 with the scope param', async (_name, held) => {
      s.verify.mockResolvedValueOnce(principal(held));
      const req = get({ authorization: `Bearer ${TOKEN}` });
      const error = await rejectedAs(
        OAuth2Error,
        s.guard.canActivate(context(req, [ReportsController, 'write'])),
      );
      expect(error.error).toBe('insufficient_scope');
      expect(error.getStatus()).toBe(403);
      expect(error.extras.scope).toEqual(['reports:write', 'reports:read']);
      expect(headersSet(s.setHeader)).toEqual({
        'WWW-Authenticate':
          'Bearer realm="Service", error="insufficient_scope", ' +
          `error_description="${SCOPE_DESCRIPTION}", scope="reports:write reports:read"`,
      });
      expect(principalOf(req)).toBeUndefined();
    });

    test('the controller’s scope alone applies to a method without @Scopes', async () => {
      s.verify.mockResolvedValueOnce(principal(['reports:write']));
      const error = await rejectedAs(
        OAuth2Error,
        s.guard.canActivate(
          context(get({ authorization: `Bearer ${TOKEN}` }), [ReportsController, 'list']),
        ),
      );
      expect(error.extras.scope).toEqual(['reports:read']);
    });
  });

  describe('@OAuth2Public', () => {
    test('on the method: true without a token; nothing verified, no header', async () => {
      await expect(s.guard.canActivate(context(get(), [OpenRoutes, 'open']))).resolves.toBe(true);
      expect(s.verify).not.toHaveBeenCalled();
      expect(s.setHeader).not.toHaveBeenCalled();
    });

    test('on the controller: true even with a malformed header and required scopes', async () => {
      const req = get({ authorization: 'Bearer a b' });
      await expect(s.guard.canActivate(context(req, [PublicController, 'anything']))).resolves.toBe(
        true,
      );
      expect(s.verify).not.toHaveBeenCalled();
      expect(principalOf(req)).toBeUndefined();
    });
  });

  describe('verifier errors', () => {
    test('invalid_token from the verifier → thrown as is, its challenge set', async () => {
      const invalid = OAuth2Error.invalidToken('The access token expired');
      s.verify.mockRejectedValueOnce(invalid);
      const error = await rejectedAs(
        OAuth2Error,
        s.guard.canActivate(context(get({ authorization: `Bearer ${TOKEN}` }))),
      );
      expect(error).toBe(invalid);
      expect(s.setHeader.mock.calls).toEqual([
        [
          RESPONSE,
          'WWW-Authenticate',
          'Bearer realm="Service", error="invalid_token", error_description="The access token expired"',
        ],
      ]);
    });

    test('a 503 from the verifier (remote keys down) → its Retry-After, no challenge', async () => {
      s.verify.mockRejectedValueOnce(OAuth2Error.temporarilyUnavailable(5));
      await rejectedAs(
        OAuth2Error,
        s.guard.canActivate(context(get({ authorization: `Bearer ${TOKEN}` }))),
      );
      expect(headersSet(s.setHeader)).toEqual({ 'Retry-After': '5' });
    });

    test('an error that is not an OAuth2Error is thrown as is, no header set', async () => {
      const bug = new TypeError('boom');
      s.verify.mockRejectedValueOnce(bug);
      await expect(
        s.guard.canActivate(context(get({ authorization: `Bearer ${TOKEN}` }))),
      ).rejects.toBe(bug);
      expect(s.setHeader).not.toHaveBeenCalled();
    });
  });

  describe('outside HTTP (getType() !== "http")', () => {
    /** A microservice handler's context as Nest builds it: (payload, transport context). */
    const rpc = (payload: object, metadata?: Record<string, string>): ExecutionContext => {
      const host = new ExecutionContextHost(
        [payload, new TcpContext([undefined as never, 'pattern', metadata])],
        OpenRoutes,
        OpenRoutes.prototype.handler,
      );
      host.setType('rpc');
      return host;
    };

    test('no token over rpc → an RpcException with the refusal as data, no adapter touched', async () => {
      const error = await rejectedAs(RpcException, s.guard.canActivate(rpc({})));
      expect(error.getError()).toEqual({ status: 401, message: 'Unauthorized' });
      expect(s.setHeader).not.toHaveBeenCalled();
    });

    test('no token in a GraphQL resolver → an OAuth2GraphQLError, the challenge set on req.res', async () => {
      const req = { ...get(), res: RESPONSE };
      const host = new ExecutionContextHost(
        [undefined, {}, { req }, {}],
        OpenRoutes,
        OpenRoutes.prototype.handler,
      );
      host.setType('graphql');
      const error = await rejectedAs(OAuth2GraphQLError, s.guard.canActivate(host));
      expect(error.extensions).toEqual({ code: 'UNAUTHENTICATED', status: 401 });
      expect(s.setHeader.mock.calls).toEqual([
        [RESPONSE, 'WWW-Authenticate', 'Bearer realm="Service"'],
      ]);
    });

    test.each([
      ['a client without headers (ws)', {}],
      ['a socket.io client', { handshake: { headers: { authorization: `Bearer ${TOKEN}` } } }],
    ])(
      'over ws (%s) → a server_error that says so, nothing verified, no TypeError',
      async (_name, client) => {
        const host = new ExecutionContextHost(
          [client, {}],
          OpenRoutes,
          OpenRoutes.prototype.handler,
        );
        host.setType('ws');
        const error = await rejectedAs(OAuth2Error, s.guard.canActivate(host));
        expect({ status: error.getStatus(), body: error.body }).toEqual({
          status: 500,
          body: {
            error: 'server_error',
            error_description: 'OAuth2Guard does not guard WebSocket gateway messages',
          },
        });
        expect(s.verify).not.toHaveBeenCalled();
        expect(s.setHeader).not.toHaveBeenCalled();
      },
    );

    test('an @OAuth2Public gateway handler over ws → true', async () => {
      const host = new ExecutionContextHost([{}, {}], OpenRoutes, OpenRoutes.prototype.open);
      host.setType('ws');
      await expect(s.guard.canActivate(host)).resolves.toBe(true);
    });

    test('a malformed header over rpc → an RpcException invalid_request, no adapter touched', async () => {
      const error = await rejectedAs(
        RpcException,
        s.guard.canActivate(rpc({}, { authorization: 'Bearer a b' })),
      );
      expect(error.getError()).toEqual({
        status: 400,
        error: 'invalid_request',
        error_description: 'The Bearer credentials are malformed',
        message: 'The Bearer credentials are malformed',
      });
      expect(s.setHeader).not.toHaveBeenCalled();
    });

    test('a valid token over rpc → true; the principal is on the message', async () => {
      const p = principal([]);
      s.verify.mockResolvedValueOnce(p);
      const message = rpc({}, { authorization: `Bearer ${TOKEN}` });
      await expect(s.guard.canActivate(message)).resolves.toBe(true);
      expect(s.verify.mock.calls).toEqual([[TOKEN]]);
      expect(principalOf(requestOf(message))).toBe(p);
    });

    test('a context reused for a later message: its own token is verified, never the first one’s', async () => {
      const metadata: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
      const tcp = new TcpContext([undefined as never, 'pattern', metadata]);
      const message = (handler: 'handler' | 'open') => {
        const host = new ExecutionContextHost([{}, tcp], OpenRoutes, OpenRoutes.prototype[handler]);
        host.setType('rpc');
        return host;
      };
      const first = principal([]);
      s.verify.mockResolvedValueOnce(first);
      await expect(s.guard.canActivate(message('handler'))).resolves.toBe(true);

      metadata.authorization = 'Bearer other.token.sig';
      const invalid = OAuth2Error.invalidToken('The access token is invalid');
      s.verify.mockRejectedValueOnce(invalid);
      await rejectedAs(RpcException, s.guard.canActivate(message('handler')));
      expect(s.verify.mock.calls).toEqual([[TOKEN], ['other.token.sig']]);
      // Nor does a public handler of the later message see the first caller as its principal.
      await expect(s.guard.canActivate(message('open'))).resolves.toBe(true);
      expect(principalOf(requestOf(message('open')))).toBeUndefined();

      delete metadata.authorization;
      await rejectedAs(RpcException, s.guard.canActivate(message('handler')));
      expect(s.verify).toHaveBeenCalledTimes(2);
    });

    describe('a GraphQL response whose headers are already sent (incremental delivery)', () => {
      const graphql = (res: object) => {
        const host = new ExecutionContextHost(
          [undefined, {}, { req: get(), res }, {}],
          OpenRoutes,
          OpenRoutes.prototype.handler,
        );
        host.setType('graphql');
        return host;
      };

      test.each([
        ['Node’s headersSent', { headersSent: true }],
        ['Fastify’s raw.headersSent', { raw: { headersSent: true } }],
      ])('%s → no header set, the refusal stays the GraphQL error', async (_name, res) => {
        const error = await rejectedAs(OAuth2GraphQLError, s.guard.canActivate(graphql(res)));
        expect(error.extensions).toEqual({ code: 'UNAUTHENTICATED', status: 401 });
        expect(s.setHeader).not.toHaveBeenCalled();
      });

      test('setHeader throws anyway → the refusal stays the GraphQL error', async () => {
        s.setHeader.mockImplementation(() => {
          throw new Error('Cannot set headers after they are sent to the client');
        });
        const error = await rejectedAs(
          OAuth2GraphQLError,
          s.guard.canActivate(graphql({ headersSent: false })),
        );
        expect(error.extensions).toEqual({ code: 'UNAUTHENTICATED', status: 401 });
        expect(s.setHeader).toHaveBeenCalled();
      });
    });
  });
});
