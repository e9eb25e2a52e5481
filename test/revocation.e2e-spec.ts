import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import * as openid from 'openid-client';
import request, { type Response } from 'supertest';
import { OAuth2RevocationStore, OAuthClient, OAuthClientRepository } from '../src/index.js';
import { platforms, seedClients } from './support/app.js';
import { listeningIssuer } from './support/issuer.js';
import { signRaw } from './support/jwt.js';
import { es256, otherEs256 } from './support/keys.js';
import { CapturingLogger } from './support/logger.js';
import {
  basicHeader,
  expectInvalidClient,
  expectTokenError,
  GRANT,
  TEST_BASIC,
  tokenRequest,
} from './support/oauth.js';

const REVOKE = '/oauth2/revoke';
const INTROSPECT = '/oauth2/introspect';
const EXTRAS = { revocationPath: 'oauth2/revoke', introspectionPath: 'oauth2/introspect' };
const METADATA = '/.well-known/oauth-authorization-server';

/** A resource server allowed to introspect (RFC 7662 §2.1), another client, and a public one. */
const INTROSPECTOR = { clientId: 'gateway', secret: 'gateway-secret', scope: 'introspect' };
const OTHER = { clientId: 'other', secret: 'other-secret', scope: 'reports:read' };
const PUBLIC = { clientId: 'public-client', secret: null, scope: 'reports:read introspect' };
const INTROSPECTOR_BASIC = basicHeader(INTROSPECTOR.clientId, INTROSPECTOR.secret);
const OTHER_BASIC = basicHeader(OTHER.clientId, OTHER.secret);
const SECRETS = ['testpass', INTROSPECTOR.secret, OTHER.secret];

describe.each(platforms)('revocation (RFC 7009) and introspection (RFC 7662) (%s)', (platform) => {
  let app: INestApplication;
  let origin: string;
  let issuer: string;
  const logger = new CapturingLogger();
  /** Every token the suite was issued, and every response body: no log line may hold one. */
  const issued: string[] = [];

  beforeAll(async () => {
    ({ app, origin, issuer } = await listeningIssuer(
      platform,
      () => ({ allowPublicClients: true }),
      { extras: EXTRAS, logger },
    ));
    await seedClients(app, [INTROSPECTOR, OTHER, PUBLIC]);
  });
  afterAll(async () => {
    const everything = logger.everything().join('\n');
    for (const secret of [...issued, ...SECRETS]) expect(everything).not.toContain(secret);
    await app.close();
  });

  const server = () => app.getHttpServer();
  async function tokenOf(authorization = TEST_BASIC): Promise<string> {
    const res = await tokenRequest(app).set('Authorization', authorization).send(GRANT);
    expect(res.status).toBe(200);
    issued.push(res.body.access_token);
    return res.body.access_token;
  }
  const revoke = (body: string, authorization = TEST_BASIC) =>
    request(server()).post(REVOKE).type('form').set('Authorization', authorization).send(body);
  const introspect = (body: string, authorization = INTROSPECTOR_BASIC) =>
    request(server()).post(INTROSPECT).type('form').set('Authorization', authorization).send(body);
  const resource = (token: string) =>
    request(server()).get('/api/whoami').set('Authorization', `Bearer ${token}`);
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

  function expectRevoked(res: Response): void {
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
  }
  function expectInactive(res: Response): void {
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"active":false}');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
  }

  test('RFC 8414 §2: the metadata names both endpoints, their methods and assertion algorithms', async () => {
    const res = await request(server()).get(METADATA);
    const methods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
    const algorithms = ['RS256', 'PS256', 'ES256'];
    expect(res.body).toMatchObject({
      revocation_endpoint: `${origin}/oauth2/revoke`,
      revocation_endpoint_auth_methods_supported: [...methods, 'none'],
      revocation_endpoint_auth_signing_alg_values_supported: algorithms,
      introspection_endpoint: `${origin}/oauth2/introspect`,
      // RFC 7662 §4: public clients may not introspect.
      introspection_endpoint_auth_methods_supported: methods,
      introspection_endpoint_auth_signing_alg_values_supported: algorithms,
    });
    expect(res.body.token_endpoint_auth_methods_supported).toEqual([...methods, 'none']);
  });

  describe('revocation', () => {
    test('RFC 7009 §2.1: the client revokes its own token; the guard refuses it from then on', async () => {
      const token = await tokenOf();
      expect((await resource(token)).status).toBe(200);
      expectRevoked(await revoke(form({ token })));
      const refused = await resource(token);
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual({
        error: 'invalid_token',
        error_description: 'The access token was revoked',
      });
      expectInactive(await introspect(form({ token })));
      // Revoking it again is no error (§2.2).
      expectRevoked(await revoke(form({ token })));
      // Another token of the same client is untouched.
      expect((await resource(await tokenOf())).status).toBe(200);
    });

    test('RFC 7009 §2.2: another client’s token answers 200 and stays valid', async () => {
      const token = await tokenOf();
      expectRevoked(await revoke(form({ token }), OTHER_BASIC));
      expect((await resource(token)).status).toBe(200);
    });

    test.each([
      ['an unknown token', 'not-a-token'],
      [
        'a token signed with another key',
        signRaw({ typ: 'at+jwt' }, { client_id: 'testclient' }, otherEs256.privateKey),
      ],
    ])('RFC 7009 §2.2: %s answers 200 with an empty body', async (_name, token) => {
      expectRevoked(await revoke(form({ token })));
    });

    test.each(['access_token', 'refresh_token', 'something_else'])(
      'RFC 7009 §2.1: token_type_hint=%s is a hint only',
      async (hint) => {
        const token = await tokenOf();
        expectRevoked(await revoke(form({ token, token_type_hint: hint })));
        expect((await resource(token)).status).toBe(401);
      },
    );

    test('client_secret_post authenticates as at the token endpoint', async () => {
      const token = await tokenOf(OTHER_BASIC);
      const res = await request(server())
        .post(REVOKE)
        .type('form')
        .send(form({ token, client_id: OTHER.clientId, client_secret: OTHER.secret }));
      expectRevoked(res);
      expect((await resource(token)).status).toBe(401);
    });

    test('a public client (the `none` method) revokes its own token', async () => {
      const token = (await tokenRequest(app).send(`${GRANT}&client_id=${PUBLIC.clientId}`)).body
        .access_token as string;
      issued.push(token);
      expectRevoked(
        await request(server())
          .post(REVOKE)
          .type('form')
          .send(form({ token, client_id: PUBLIC.clientId })),
      );
      expect((await resource(token)).status).toBe(401);
    });

    test('RFC 7009 §2.2.1: a store that fails is a 503 with Retry-After; nothing is revoked, nothing leaks', async () => {
      const token = await tokenOf();
      const store = app.get(OAuth2RevocationStore);
      const failure = Object.assign(new Error(`redis://:${'testpass'}@10.0.0.1 ${token}`), {
        code: 'ECONNREFUSED',
      });
      const spy = jest.spyOn(store, 'revoke').mockRejectedValueOnce(failure);
      try {
        const res = await revoke(form({ token }));
        expectTokenError(res, 503, 'server_error');
        expect(res.headers['retry-after']).toBe('5');
        expect(res.text).not.toContain(token);
      } finally {
        spy.mockRestore();
      }
      expect((await resource(token)).status).toBe(200);
      expect(logger.text()).toContain('The revocation store failed: Error (ECONNREFUSED)');
    });
  });

  describe('introspection', () => {
    test('RFC 7662 §2.2: an active token’s members', async () => {
      const token = await tokenOf();
      const res = await introspect(form({ token, token_type_hint: 'access_token' }));
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({
        active: true,
        scope: 'reports:read reports:write',
        client_id: 'testclient',
        token_type: 'Bearer',
        exp: expect.any(Number),
        iat: expect.any(Number),
        sub: 'testclient',
        aud: issuer,
        iss: issuer,
        jti: expect.any(String),
      });
      expect(res.body.exp - res.body.iat).toBe(3600);
    });

    const now = () => Math.floor(Date.now() / 1000);
    const claims = () => ({
      iss: issuer,
      sub: 'testclient',
      aud: issuer,
      client_id: 'testclient',
      jti: 'hand-made',
      iat: now(),
      exp: now() + 600,
    });
    test.each([
      ['malformed', () => 'abc.def.ghi'],
      [
        'signed with another key',
        () => signRaw({ typ: 'at+jwt' }, claims(), otherEs256.privateKey),
      ],
      [
        'of another issuer',
        () =>
          signRaw(
            { typ: 'at+jwt' },
            { ...claims(), iss: 'https://evil.example' },
            es256.privateKey,
          ),
      ],
      [
        'expired',
        () =>
          signRaw(
            { typ: 'at+jwt' },
            { ...claims(), iat: now() - 700, exp: now() - 100 },
            es256.privateKey,
          ),
      ],
      ['of another type', () => signRaw({ typ: 'JWT' }, claims(), es256.privateKey)],
    ])('RFC 7662 §2.2: a token %s is exactly {"active":false}', async (_name, make) => {
      expectInactive(await introspect(form({ token: make() })));
    });

    test('control: a hand-made token with good claims and our key is active', async () => {
      const res = await introspect(
        form({ token: signRaw({ typ: 'at+jwt' }, claims(), es256.privateKey) }),
      );
      expect(res.body).toMatchObject({ active: true, jti: 'hand-made' });
    });

    test('RFC 7662 §2.2: the token of a client disabled, then deleted, is inactive', async () => {
      await seedClients(app, [
        { clientId: 'doomed', secret: 'doomed-secret', scope: 'reports:read' },
      ]);
      const token = await tokenOf(basicHeader('doomed', 'doomed-secret'));
      expect((await introspect(form({ token }))).body.active).toBe(true);
      const clients = app.get(OAuthClientRepository);
      const client = (await clients.findById('doomed'))!;
      await clients.save(OAuthClient.create({ ...client, disabled: true }));
      expectInactive(await introspect(form({ token })));
      await clients.delete('doomed');
      expectInactive(await introspect(form({ token })));
    });

    test('RFC 7662 §2.1: a caller without the introspect scope is refused 401 invalid_client', async () => {
      const token = await tokenOf();
      const res = await introspect(form({ token }), TEST_BASIC);
      expectInvalidClient(res);
      expect(res.text).not.toContain('active');
    });

    test('RFC 7662 §4: a public client is refused even with the introspect scope', async () => {
      const token = await tokenOf();
      const res = await request(server())
        .post(INTROSPECT)
        .type('form')
        .send(form({ token, client_id: PUBLIC.clientId }));
      expectInvalidClient(res);
    });

    test('a wrong secret is the invalid_client of the token endpoint', async () => {
      expectInvalidClient(
        await introspect(form({ token: 'x' }), basicHeader(INTROSPECTOR.clientId, 'wrong')),
      );
    });

    test('RFC 7662 §2.3: a client lookup that fails is a 503, not an inactive token', async () => {
      const token = await tokenOf();
      const clients = app.get(OAuthClientRepository);
      const findById = clients.findById.bind(clients);
      const spy = jest
        .spyOn(clients, 'findById')
        .mockImplementation((id) =>
          id === 'testclient' ? Promise.reject(new Error('connection lost')) : findById(id),
        );
      try {
        const res = await introspect(form({ token }));
        expectTokenError(res, 503, 'server_error');
        expect(res.headers['retry-after']).toBe('5');
      } finally {
        spy.mockRestore();
      }
    });
  });

  describe.each([
    ['revocation', REVOKE, 'revocation endpoint'],
    ['introspection', INTROSPECT, 'introspection endpoint'],
  ])('the %s endpoint’s HTTP', (_name, path, endpoint) => {
    const authorization = path === REVOKE ? TEST_BASIC : INTROSPECTOR_BASIC;

    test('RFC 7009 §2.1 / RFC 7662 §2.1: token missing or repeated → 400 invalid_request', async () => {
      const post = (body: string) =>
        request(server()).post(path).type('form').set('Authorization', authorization).send(body);
      for (const body of ['', 'token=', 'token_type_hint=access_token', 'token=a&token=b']) {
        expectTokenError(await post(body), 400, 'invalid_request');
      }
      expectTokenError(
        await post('token=a&token_type_hint=x&token_type_hint=y'),
        400,
        'invalid_request',
      );
    });

    test('a body that is not a form → 400 invalid_request; one the parser refuses, the same', async () => {
      const json = await request(server())
        .post(path)
        .set('Authorization', authorization)
        .set('Content-Type', 'application/json')
        .send('{"token":"a"}');
      expectTokenError(json, 400, 'invalid_request');
      const broken = await request(server())
        .post(path)
        .set('Authorization', authorization)
        .set('Content-Type', 'application/json')
        .send('{"token":');
      expectTokenError(broken, 400, 'invalid_request');
    });

    test('no client authentication → 401 invalid_client with the Basic challenge', async () => {
      expectInvalidClient(await request(server()).post(path).type('form').send('token=a'));
    });

    test.each(['get', 'put', 'patch', 'delete'] as const)(
      'RFC 9110 §15.5.6: %s → 405 with Allow: POST',
      async (method) => {
        const res = await request(server())[method](path);
        expectTokenError(res, 405, 'invalid_request');
        expect(res.headers.allow).toBe('POST');
        expect(res.body.error_description).toBe(`The ${endpoint} accepts POST only`);
      },
    );

    test('OPTIONS → 204 with Allow: POST', async () => {
      const res = await request(server()).options(path);
      expect(res.status).toBe(204);
      expect(res.headers.allow).toBe('POST');
    });
  });

  describe('openid-client v6, unchanged, against the discovered endpoints', () => {
    const configure = (clientId: string, secret: string) =>
      openid.discovery(new URL(issuer), clientId, secret, openid.ClientSecretBasic(secret), {
        algorithm: 'oauth2',
        execute: [openid.allowInsecureRequests],
      });

    test('tokenIntrospection says active; tokenRevocation revokes; introspection then says inactive', async () => {
      const owner = await configure('testclient', 'testpass');
      const gateway = await configure(INTROSPECTOR.clientId, INTROSPECTOR.secret);
      const { access_token } = await openid.clientCredentialsGrant(owner, {
        scope: 'reports:read',
      });
      issued.push(access_token);
      const active = await openid.tokenIntrospection(gateway, access_token);
      expect(active).toMatchObject({
        active: true,
        client_id: 'testclient',
        scope: 'reports:read',
        token_type: 'Bearer',
        iss: issuer,
      });
      await openid.tokenRevocation(owner, access_token, { token_type_hint: 'access_token' });
      expect((await resource(access_token)).status).toBe(401);
      const inactive = await openid.tokenIntrospection(gateway, access_token);
      expect(inactive).toEqual({ active: false });
    });
  });
});

describe.each(platforms)('revocation and introspection endpoints (%s)', (platform) => {
  test('not served unless their paths are given: 404, and absent from the metadata', async () => {
    const { app } = await listeningIssuer(platform, () => ({}));
    try {
      const server = app.getHttpServer();
      const metadata = (await request(server).get(METADATA)).body;
      expect(Object.keys(metadata).filter((key) => /revocation|introspection/.test(key))).toEqual(
        [],
      );
      for (const path of [REVOKE, INTROSPECT]) {
        const res = await request(server)
          .post(path)
          .type('form')
          .set('Authorization', TEST_BASIC)
          .send('token=a');
        expect(res.status).toBe(404);
      }
    } finally {
      await app.close();
    }
  });

  test('throttled like the token endpoint: failures at either count together, then 429', async () => {
    const { app } = await listeningIssuer(
      platform,
      () => ({
        clientAuthThrottle: {
          window: 60,
          freeFailures: 3,
          maxFailures: 4,
          maxDelayMs: 100,
          maxFailuresPerClient: 100,
        },
      }),
      { extras: EXTRAS },
    );
    try {
      const server = app.getHttpServer();
      const wrong = basicHeader('testclient', 'wrong');
      const statuses: number[] = [];
      for (const path of [REVOKE, INTROSPECT, REVOKE, '/oauth2/token']) {
        const res = await request(server)
          .post(path)
          .type('form')
          .set('Authorization', wrong)
          .send(`token=a&${GRANT}`);
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 401, 401]);
      for (const path of [REVOKE, INTROSPECT, '/oauth2/token']) {
        const res = await request(server)
          .post(path)
          .type('form')
          .set('Authorization', TEST_BASIC)
          .send(`token=a&${GRANT}`);
        expectTokenError(res, 429, 'invalid_client');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
    } finally {
      await app.close();
    }
  });
});
