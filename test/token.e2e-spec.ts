import { beforeAll, describe, expect, jest, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createPublicKey } from 'node:crypto';
import request, { type Test } from 'supertest';
import { ClientSecretHasher, OAuthClient, OAuthClientRepository } from '../src/index.js';
import { seedClients } from './support/app.js';
import { ISSUER } from './support/fixtures.js';
import { appCases, useApp } from './support/matrix.js';
import { decodeJwt, rfc7638Thumbprint, verifyWithPublicKey } from './support/jwt.js';
import { es256 } from './support/keys.js';
import {
  appendixBHeader,
  basicHeader,
  CLIENTS,
  GRANT,
  tokenRequest,
  TEST_BASIC,
  expectInvalidClient,
  expectTokenError,
} from './support/oauth.js';

describe.each(appCases)('token endpoint ($name)', (appCase) => {
  const getApp = useApp(appCase);
  let app: INestApplication;

  beforeAll(async () => {
    app = getApp();
    await seedClients(app, Object.values(CLIENTS));
  });

  describe('success (RFC 6749 §4.4.3, §5.1)', () => {
    test('HTTP Basic, as the seed curl does it', async () => {
      const res = await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual([
        'access_token',
        'expires_in',
        'scope',
        'token_type',
      ]);
      expect(res.body).toMatchObject({
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'reports:read reports:write',
      });
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.pragma).toBe('no-cache');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    });

    test('client_id and client_secret in the body (§2.3.1)', async () => {
      const res = await tokenRequest(app).send(
        `${GRANT}&client_id=testclient&client_secret=testpass`,
      );
      expect(res.status).toBe(200);
      expect(res.body.token_type).toBe('Bearer');
    });

    test('a charset parameter on the content type is fine', async () => {
      const res = await tokenRequest(app)
        .set('Content-Type', 'application/x-www-form-urlencoded; charset=UTF-8')
        .set('Authorization', TEST_BASIC)
        .send(GRANT);
      expect(res.status).toBe(200);
    });

    test('several spaces may follow the Basic scheme (RFC 9110 §11.6.2: 1*SP)', async () => {
      const res = await tokenRequest(app)
        .set('Authorization', `Basic   ${TEST_BASIC.slice(6)}`)
        .send(GRANT);
      expect(res.status).toBe(200);
    });

    test('the Basic scheme name is case-insensitive (RFC 9110 §11.1)', async () => {
      const credentials = TEST_BASIC.slice('Basic '.length);
      for (const scheme of ['basic', 'BASIC', 'bAsIc']) {
        const res = await tokenRequest(app)
          .set('Authorization', `${scheme} ${credentials}`)
          .send(GRANT);
        expect(res.status).toBe(200);
      }
    });

    test('Appendix B: form-urlencoded id and secret inside Basic credentials', async () => {
      const res = await tokenRequest(app)
        .set('Authorization', appendixBHeader('an:identifier', 'some secure & non-standard secret'))
        .send(GRANT);
      expect(res.status).toBe(200);
      expect(decodeJwt(res.body.access_token).payload.client_id).toBe('an:identifier');
    });

    test('the same client authenticates with its credentials in the body, form-encoded', async () => {
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'an:identifier',
        client_secret: 'some secure & non-standard secret',
      });
      const res = await tokenRequest(app).send(body.toString());
      expect(res.status).toBe(200);
    });

    test('a body client_id equal to the Basic id is accepted', async () => {
      const res = await tokenRequest(app)
        .set('Authorization', TEST_BASIC)
        .send(`${GRANT}&client_id=testclient`);
      expect(res.status).toBe(200);
    });

    test('unknown parameters are ignored; an empty value counts as absent', async () => {
      const res = await tokenRequest(app)
        .set('Authorization', TEST_BASIC)
        .send(`${GRANT}&foo=bar&foo=baz&scope=&refresh_token=x`);
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe('reports:read reports:write');
    });

    test('never a refresh token (§4.4.3)', async () => {
      const res = await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT);
      expect(res.body).not.toHaveProperty('refresh_token');
    });
  });

  describe('access token (RFC 9068)', () => {
    test('header and claims', async () => {
      const res = await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT);
      const { header, payload } = decodeJwt(res.body.access_token);
      expect(header).toEqual({
        typ: 'at+jwt',
        alg: 'ES256',
        kid: rfc7638Thumbprint(createPublicKey(es256.privateKey)),
      });
      expect(payload).toMatchObject({
        iss: ISSUER,
        sub: 'testclient',
        aud: ISSUER,
        client_id: 'testclient',
        scope: 'reports:read reports:write',
      });
      expect(payload.exp).toBe((payload.iat as number) + 3600);
      expect(Math.abs((payload.iat as number) - Date.now() / 1000)).toBeLessThan(60);
      expect(typeof payload.jti).toBe('string');
      expect(() => verifyWithPublicKey(res.body.access_token, es256.privateKey)).not.toThrow();
    });

    test('jti is unique per token', async () => {
      const tokens = await Promise.all(
        [1, 2, 3].map(() => tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT)),
      );
      const ids = tokens.map((res) => decodeJwt(res.body.access_token).payload.jti);
      expect(new Set(ids).size).toBe(3);
    });

    test('sub is the client user_id when set', async () => {
      const res = await tokenRequest(app)
        .set('Authorization', basicHeader('delegate', 'delegate-secret'))
        .send(GRANT);
      expect(decodeJwt(res.body.access_token).payload).toMatchObject({
        sub: 'user-42',
        client_id: 'delegate',
      });
    });
  });

  describe('request validation', () => {
    test.each([
      ['JSON', 'application/json', JSON.stringify({ grant_type: 'client_credentials' })],
      ['text', 'text/plain', GRANT],
      ['multipart-looking', 'multipart/form-data; boundary=x', GRANT],
    ])('a %s body is refused (§3.2)', async (_name, contentType, body) => {
      const res = await request(app.getHttpServer())
        .post('/oauth2/token')
        .set('Authorization', TEST_BASIC)
        .set('Content-Type', contentType)
        .send(body);
      expectTokenError(res, 400, 'invalid_request');
    });

    test('a request with no body at all is an invalid_request', async () => {
      const res = await request(app.getHttpServer())
        .post('/oauth2/token')
        .set('Authorization', TEST_BASIC);
      expectTokenError(res, 400, 'invalid_request');
    });

    test('missing grant_type', async () => {
      const res = await tokenRequest(app)
        .set('Authorization', TEST_BASIC)
        .send('scope=reports:read');
      expectTokenError(res, 400, 'invalid_request');
    });

    test.each([
      'password',
      'CLIENT_CREDENTIALS',
      'client_credentials ',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
    ])('grant_type %j is unsupported (exact, case-sensitive match)', async (grantType) => {
      const res = await tokenRequest(app)
        .set('Authorization', TEST_BASIC)
        .send(new URLSearchParams({ grant_type: grantType }).toString());
      expectTokenError(res, 400, 'unsupported_grant_type');
    });

    test.each([
      ['grant_type twice', `${GRANT}&${GRANT}`],
      ['scope twice', `${GRANT}&scope=reports:read&scope=reports:write`],
      ['scope as an array', `${GRANT}&scope[]=reports:read`],
      ['scope as an object', `${GRANT}&scope[a]=reports:read`],
      ['client_id twice', `${GRANT}&client_id=testclient&client_id=testclient`],
      ['client_secret as an array', `${GRANT}&client_id=testclient&client_secret[]=testpass`],
      ['grant_type as an array', 'grant_type[]=client_credentials'],
    ])('%s is an invalid_request (§3.2: parameters must not repeat)', async (_name, body) => {
      const res = await tokenRequest(app).set('Authorization', TEST_BASIC).send(body);
      expectTokenError(res, 400, 'invalid_request');
    });

    test('a body over the size limit is refused with an OAuth error, not a crash', async () => {
      const res = await tokenRequest(app)
        .set('Authorization', TEST_BASIC)
        .send(`${GRANT}&padding=${'a'.repeat(200 * 1024)}`);
      expect([400, 413]).toContain(res.status);
      expectTokenError(res, res.status, 'invalid_request');
    });

    // Within every platform's own limit (Express 100 kB, Fastify 1 MiB): the module's limit decides.
    test('a 70 KiB body is a 413 invalid_request: the endpoint takes 64 KiB at most', async () => {
      const res = await tokenRequest(app)
        .set('Authorization', TEST_BASIC)
        .send(`${GRANT}&padding=${'a'.repeat(70 * 1024)}`);
      expectTokenError(res, 413, 'invalid_request');
    });

    test('a body of 101 parameters is a 413 invalid_request: the endpoint takes 100 at most', async () => {
      const params = Array.from({ length: 100 }, (_, i) => `p${i}=1`).join('&');
      const res = await tokenRequest(app)
        .set('Authorization', TEST_BASIC)
        .send(`${GRANT}&${params}`);
      expectTokenError(res, 413, 'invalid_request');
    });

    test('a body just within both limits is served', async () => {
      const params = Array.from({ length: 98 }, (_, i) => `p${i}=1`).join('&');
      const body = `${GRANT}&${params}&padding=`;
      const res = await tokenRequest(app)
        .set('Authorization', TEST_BASIC)
        .send(body + 'a'.repeat(64 * 1024 - body.length));
      expect(res.status).toBe(200);
    });

    test('a body with thousands of parameters is refused with an OAuth error', async () => {
      const params = Array.from({ length: 5000 }, (_, i) => `p${i}=1`).join('&');
      const res = await tokenRequest(app)
        .set('Authorization', TEST_BASIC)
        .send(`${GRANT}&${params}`);
      expect([400, 413]).toContain(res.status);
      expectTokenError(res, res.status, 'invalid_request');
    });

    test('another method is a 405 that names POST (RFC 9110 §15.5.6)', async () => {
      for (const method of ['get', 'put', 'delete', 'patch'] as const) {
        const res = await request(app.getHttpServer())[method]('/oauth2/token');
        expectTokenError(res, 405, 'invalid_request');
        expect(res.headers.allow).toBe('POST');
      }
    });

    test('OPTIONS answers with Allow, and no-store like every answer of the endpoint (§5.1)', async () => {
      const res = await request(app.getHttpServer()).options('/oauth2/token');
      expect(res.status).toBe(204);
      expect(res.headers.allow).toBe('POST');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.pragma).toBe('no-cache');
    });

    test('HEAD is a 405 that names POST, with no-store', async () => {
      const res = await request(app.getHttpServer()).head('/oauth2/token');
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('POST');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.pragma).toBe('no-cache');
    });
  });

  describe('client authentication (§2.3, §5.2)', () => {
    test.each([
      ['not base64', 'Basic !!!!'],
      [
        'non-canonical base64 (no padding)',
        `Basic ${Buffer.from('testclient:testpass1').toString('base64').replace(/=+$/, '')}`,
      ],
      ['no colon', `Basic ${Buffer.from('testclient').toString('base64')}`],
      ['an empty client id', `Basic ${Buffer.from(':testpass').toString('base64')}`],
      ['bad percent-encoding', `Basic ${Buffer.from('test%zzclient:testpass').toString('base64')}`],
      ['no credentials after the scheme', 'Basic'],
    ])('malformed Basic credentials (%s) are an invalid_request', async (_name, header) => {
      const res = await tokenRequest(app).set('Authorization', header).send(GRANT);
      expectTokenError(res, 400, 'invalid_request');
    });

    test('Basic plus a body client_secret is refused: one method only', async () => {
      const res = await tokenRequest(app)
        .set('Authorization', TEST_BASIC)
        .send(`${GRANT}&client_secret=testpass`);
      expectTokenError(res, 400, 'invalid_request');
    });

    test('Basic plus a different body client_id is refused', async () => {
      const res = await tokenRequest(app)
        .set('Authorization', TEST_BASIC)
        .send(`${GRANT}&client_id=delegate`);
      expectTokenError(res, 400, 'invalid_request');
    });

    test('every failure is the same 401 invalid_client with a Basic challenge', async () => {
      const failures = await Promise.all([
        tokenRequest(app).set('Authorization', basicHeader('nobody', 'testpass')).send(GRANT),
        tokenRequest(app).set('Authorization', basicHeader('testclient', 'wrong')).send(GRANT),
        tokenRequest(app).set('Authorization', basicHeader('testclient', '')).send(GRANT),
        tokenRequest(app).send(`${GRANT}&client_id=testclient&client_secret=wrong`),
        tokenRequest(app).send(`${GRANT}&client_id=nobody&client_secret=testpass`),
        tokenRequest(app).send(`${GRANT}&client_id=testclient`),
        tokenRequest(app).send(GRANT),
        tokenRequest(app).send(`${GRANT}&client_secret=testpass`),
        tokenRequest(app).set('Authorization', 'Bearer abc.def.ghi').send(GRANT),
        tokenRequest(app)
          .set('Authorization', basicHeader('x'.repeat(200), 'testpass'))
          .send(GRANT),
      ]);
      for (const res of failures) expectInvalidClient(res);
      expect(new Set(failures.map((res) => res.text)).size).toBe(1);
    });

    // RFC 6749 §2.2 and §3.2.1: a client id is a string compared exactly. MariaDB/MySQL compare strings by a
    // case-insensitive collation by default, and PAD SPACE collations ignore trailing spaces.
    test.each([
      ['in upper case', 'TESTCLIENT'],
      ['with one letter in another case', 'testClient'],
      ['with a trailing space', 'testclient '],
    ])('client ids compare exactly: the id %s is an unknown client', async (_name, clientId) => {
      expectInvalidClient(
        await tokenRequest(app).set('Authorization', basicHeader(clientId, 'testpass')).send(GRANT),
      );
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: 'testpass',
      });
      expectInvalidClient(await tokenRequest(app).send(body.toString()));
    });

    test('credentials in the query string are never read', async () => {
      const res = await request(app.getHttpServer())
        .post('/oauth2/token?client_id=testclient&client_secret=testpass')
        .type('form')
        .send(GRANT);
      expectInvalidClient(res);
    });

    /** The verifications one request ran, named by the kind of stored value each checked against. */
    async function verificationsOf(send: () => Test): Promise<string[]> {
      const hasher = app.get(ClientSecretHasher);
      // Keyed digests are checked by verify(); KDF hashes by one derivation per salt (which verify() of a
      // KDF hash also runs: count that once).
      const verify = jest.spyOn(hasher, 'verify');
      const derive = jest.spyOn(hasher, 'verifyScryptGroup');
      try {
        expectInvalidClient(await send());
        const digests = verify.mock.calls
          .map(([, stored]) => hasher.kindOf(stored))
          .filter((kind) => kind !== 'scrypt');
        return [...digests, ...derive.mock.calls.map(() => 'scrypt')];
      } finally {
        verify.mockRestore();
        derive.mockRestore();
      }
    }
    const unknownClient = () =>
      tokenRequest(app).set('Authorization', basicHeader('nobody', 'secret')).send(GRANT);

    test('an unknown client runs a dummy verification: the keyed digest a generated secret costs', async () => {
      const hasher = app.get(ClientSecretHasher);
      await app.get(OAuthClientRepository).save(
        OAuthClient.create({
          clientId: 'generated',
          clientSecret: hasher.createSecret().hash,
          grantTypes: 'client_credentials',
        }),
      );
      const wrongGenerated = () =>
        tokenRequest(app).set('Authorization', basicHeader('generated', 'wrong')).send(GRANT);
      const wrongChosen = () =>
        tokenRequest(app).set('Authorization', basicHeader('testclient', 'wrong')).send(GRANT);

      expect(await verificationsOf(unknownClient)).toEqual(['hmac']);
      expect(await verificationsOf(wrongGenerated)).toEqual(['hmac']);
      // Not what a wrong secret for a chosen (scrypt) secret costs: the difference is padded with a timer, below.
      expect(await verificationsOf(wrongChosen)).toEqual(['scrypt']);
    });

    // An unknown id still does only a digest's work: the time a KDF failure takes is matched by a timer in
    // ClientAuthGuard (src/client-auth/client-auth.guard.spec.ts), and `npm run bench` measures the medians.

    test('the stored secret is a hash, never the plaintext', async () => {
      const stored = await app.get(OAuthClientRepository).findById('testclient');
      expect(stored?.clientSecret).toMatch(/^\$scrypt\$/);
      expect(stored?.clientSecret).not.toContain('testpass');
    });

    test('a public client is an invalid_client while public clients are off: the none method is off', async () => {
      const res = await tokenRequest(app).send(`${GRANT}&client_id=public-client`);
      expectInvalidClient(res);
      // The same answer as for an id nobody registered: it does not tell that the client exists.
      const unknown = await tokenRequest(app).send(`${GRANT}&client_id=nobody`);
      expect(res.text).toBe(unknown.text);
    });

    test('a public client that sends a secret fails authentication', async () => {
      const res = await tokenRequest(app).send(
        `${GRANT}&client_id=public-client&client_secret=anything`,
      );
      expectInvalidClient(res);
    });
  });

  describe('grant types', () => {
    test('a client whose grant_types lacks client_credentials is an unauthorized_client', async () => {
      const res = await tokenRequest(app)
        .set('Authorization', basicHeader('code-only', 'code-secret'))
        .send(GRANT);
      expectTokenError(res, 400, 'unauthorized_client');
    });

    test('grant_types null allows every grant, as in the seed', async () => {
      const res = await tokenRequest(app)
        .set('Authorization', basicHeader('any-grant', 'any-secret'))
        .send(GRANT);
      expect(res.status).toBe(200);
    });
  });

  describe('scope (RFC 6749 §3.3)', () => {
    const withScope = (scope: string, auth = TEST_BASIC) =>
      tokenRequest(app)
        .set('Authorization', auth)
        .send(new URLSearchParams({ grant_type: 'client_credentials', scope }).toString());

    test('a subset is granted as requested, in the response and the token', async () => {
      const res = await withScope('reports:read');
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe('reports:read');
      expect(decodeJwt(res.body.access_token).payload.scope).toBe('reports:read');
    });

    test('order does not matter; duplicates collapse', async () => {
      const res = await withScope('reports:write reports:read reports:write');
      expect(res.status).toBe(200);
      expect(res.body.scope.split(' ').sort()).toEqual(['reports:read', 'reports:write']);
    });

    test('more than the client may have is an invalid_scope', async () => {
      expectTokenError(await withScope('reports:read admin'), 400, 'invalid_scope');
    });

    test('scope tokens are case-sensitive', async () => {
      expectTokenError(await withScope('REPORTS:READ'), 400, 'invalid_scope');
    });

    test.each([
      'reports:read  reports:write',
      ' reports:read',
      'reports:"read"',
      'reports\\read',
      'réports',
      'a\tb',
    ])('characters outside the grammar (%j) are an invalid_scope', async (scope) => {
      expectTokenError(await withScope(scope), 400, 'invalid_scope');
    });

    test('no client scope and none requested: no scope in the response or the token', async () => {
      const res = await tokenRequest(app)
        .set('Authorization', basicHeader('no-scope', 'no-scope-secret'))
        .send(GRANT);
      expect(res.status).toBe(200);
      expect(res.body).not.toHaveProperty('scope');
      expect(decodeJwt(res.body.access_token).payload).not.toHaveProperty('scope');
    });

    test('no client scope: any requested scope is an invalid_scope', async () => {
      expectTokenError(
        await withScope('reports:read', basicHeader('no-scope', 'no-scope-secret')),
        400,
        'invalid_scope',
      );
    });
  });

  test('error descriptions never echo the input', async () => {
    const marker = 'ECHO-MARKER-1234';
    const responses = await Promise.all([
      tokenRequest(app).set('Authorization', basicHeader(marker, marker)).send(GRANT),
      tokenRequest(app).set('Authorization', TEST_BASIC).send(`grant_type=${marker}`),
      tokenRequest(app).set('Authorization', TEST_BASIC).send(`${GRANT}&scope=${marker}`),
      tokenRequest(app).set('Authorization', TEST_BASIC).send(`${GRANT}&client_id=${marker}`),
    ]);
    for (const res of responses) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.text).not.toContain(marker);
    }
  });
});
