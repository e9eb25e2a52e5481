import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import * as openid from 'openid-client';
import request, { type Response } from 'supertest';
import { ClientSecretHasher, OAuthClient, OAuthClientRepository } from '../src/index.js';
import { json, startServer, type TestServer } from './support/http-server.js';
import { ISSUER } from './support/fixtures.js';
import { unsignedJwt } from './support/jwt.js';
import { appCases, useApp } from './support/matrix.js';
import { basicHeader, GRANT, tokenRequest } from './support/oauth.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const TOKEN_PATH = '/oauth2/token';
/** The token endpoint URL the metadata advertises: the issuer's origin and the token path. */
const TOKEN_ENDPOINT = `${ISSUER}${TOKEN_PATH}`;
const SCOPE = 'reports:read';

interface ClientKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: Record<string, unknown>;
}

async function clientKey(kid: string, alg = 'ES256'): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const seconds = () => Math.floor(Date.now() / 1000);

/** A client assertion (RFC 7523 §3) signed with `key`; `claims` override, and undefined removes one. */
async function assertion(
  clientId: string,
  key: ClientKey,
  { claims = {}, header = {} }: { claims?: JWTPayload; header?: Record<string, unknown> } = {},
): Promise<string> {
  const payload: JWTPayload = {
    iss: clientId,
    sub: clientId,
    aud: ISSUER,
    exp: seconds() + 60,
    iat: seconds(),
    jti: randomUUID(),
    ...claims,
  };
  for (const [name, value] of Object.entries(payload))
    if (value === undefined) delete payload[name];
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, ...header })
    .sign(key.privateKey);
}

const form = (fields: Record<string, string>) =>
  new URLSearchParams({ grant_type: 'client_credentials', ...fields }).toString();
const withAssertion = (clientAssertion: string, fields: Record<string, string> = {}) =>
  form({ client_assertion_type: JWT_BEARER, client_assertion: clientAssertion, ...fields });

describe.each(appCases)('private_key_jwt ($name)', (appCase) => {
  const getApp = useApp(appCase);
  let app: INestApplication;
  let origin: string;
  let jwksServer: TestServer;
  /** The 401 of a wrong client secret: every private_key_jwt refusal must be byte for byte the same. */
  let invalidClient: Response;
  let inline: ClientKey;
  let remote: ClientKey;
  let other: ClientKey;

  const post = (body: string) => tokenRequest(app).send(body);
  const expectSameInvalidClient = (res: Response) => {
    expect([res.status, res.text]).toEqual([401, invalidClient.text]);
    expect(res.headers['www-authenticate']).toBe(invalidClient.headers['www-authenticate']);
    expect(res.headers['content-type']).toBe(invalidClient.headers['content-type']);
    expect(res.headers['cache-control']).toBe('no-store');
  };

  beforeAll(async () => {
    app = getApp();
    [inline, remote, other] = await Promise.all([
      clientKey('inline-1'),
      clientKey('remote-1'),
      clientKey('other-1'),
    ]);
    jwksServer = await startServer(
      json({ keys: [remote.jwk] }, { 'cache-control': 'max-age=300' }),
    );
    const down = await startServer(json({}));
    await down.close();
    const clients = app.get(OAuthClientRepository);
    const pkjwt = (clientId: string, fields: Partial<OAuthClient>) =>
      clients.save(
        OAuthClient.create({
          clientId,
          grantTypes: 'client_credentials',
          scope: SCOPE,
          tokenEndpointAuthMethod: 'private_key_jwt',
          ...fields,
        }),
      );
    await pkjwt('pk-inline', { jwks: JSON.stringify({ keys: [inline.jwk] }) });
    await pkjwt('pk-remote', { jwksUri: `${jwksServer.url}/jwks.json` });
    await pkjwt('pk-other', { jwks: JSON.stringify({ keys: [other.jwk] }) });
    await pkjwt('pk-down', { jwksUri: `${down.url}/jwks.json` });
    await pkjwt('pk-disabled', { jwks: JSON.stringify({ keys: [inline.jwk] }), disabled: true });
    await pkjwt('pk-with-secret', {
      jwks: JSON.stringify({ keys: [inline.jwk] }),
      clientSecret: await app
        .get(ClientSecretHasher)
        .hash('pk-secret of at least twenty characters'),
    });
    await pkjwt('secret-method', {
      jwks: JSON.stringify({ keys: [inline.jwk] }),
      tokenEndpointAuthMethod: 'client_secret_basic',
    });
    invalidClient = await tokenRequest(app)
      .set('Authorization', basicHeader('nobody', 'wrong'))
      .send(GRANT);
    expect(invalidClient.status).toBe(401);
    await app.listen(0, '127.0.0.1');
    origin = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await jwksServer?.close();
  });

  /** openid-client, configured as for this issuer (its token endpoint at the app's real address). */
  const openidClient = (clientId: string, key: ClientKey) => {
    const configuration = new openid.Configuration(
      { issuer: ISSUER, token_endpoint: `${origin}${TOKEN_PATH}` },
      clientId,
      {},
      openid.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }),
    );
    openid.allowInsecureRequests(configuration);
    return configuration;
  };

  describe('success', () => {
    test("openid-client's PrivateKeyJwt with an inline jwks: a token for the client", async () => {
      const configuration = openidClient('pk-inline', inline);
      const tokens = await openid.clientCredentialsGrant(configuration, { scope: SCOPE });
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.scope).toBe(SCOPE);
      const claims = JSON.parse(
        Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString(),
      );
      expect(claims.client_id).toBe('pk-inline');
    });

    test("openid-client's PrivateKeyJwt with a jwks_uri served over HTTP on loopback", async () => {
      const configuration = openidClient('pk-remote', remote);
      const before = jwksServer.requests.length;
      const first = await openid.clientCredentialsGrant(configuration, { scope: SCOPE });
      const second = await openid.clientCredentialsGrant(configuration, { scope: SCOPE });
      expect([first.token_type, second.token_type]).toEqual(['bearer', 'bearer']);
      // The keys were fetched at most once for both (cached with the response's max-age).
      expect(jwksServer.requests.length - before).toBeLessThanOrEqual(1);
      expect(jwksServer.requests.every((path) => path === '/jwks.json')).toBe(true);
    });

    test('aud = the token endpoint URL, without kid, with a matching body client_id', async () => {
      const signed = await assertion('pk-inline', inline, {
        claims: { aud: TOKEN_ENDPOINT },
        header: { kid: undefined },
      });
      const res = await post(withAssertion(signed, { client_id: 'pk-inline' }));
      expect(res.status).toBe(200);
      expect(res.body.token_type).toBe('Bearer');
    });

    test('RFC 8414 §2: the metadata advertises the method and its algorithms', async () => {
      const res = await request(app.getHttpServer()).get('/.well-known/oauth-authorization-server');
      expect(res.body.token_endpoint).toBe(TOKEN_ENDPOINT);
      expect(res.body.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
      expect(res.body.token_endpoint_auth_signing_alg_values_supported).toEqual([
        'RS256',
        'PS256',
        'ES256',
      ]);
    });
  });

  describe('every failure is the same 401 invalid_client', () => {
    test('a replayed assertion (RFC 7523 §3 item 7)', async () => {
      const signed = await assertion('pk-inline', inline);
      expect((await post(withAssertion(signed))).status).toBe(200);
      expectSameInvalidClient(await post(withAssertion(signed)));
    });

    // Claims made when the test runs: a suite may start long after it was loaded.
    test.each<[string, () => JWTPayload]>([
      ['another aud', () => ({ aud: 'https://api.test.example' })],
      ['exp further ahead than maxAssertionLifetime', () => ({ exp: seconds() + 3600 + 60 })],
      ['no exp', () => ({ exp: undefined })],
      ['no jti', () => ({ jti: undefined })],
      ['iss ≠ sub', () => ({ iss: 'pk-other' })],
    ])('%s', async (_name, claims) => {
      expectSameInvalidClient(
        await post(withAssertion(await assertion('pk-inline', inline, { claims: claims() }))),
      );
    });

    test('an aud taken from the Host header the request was sent with', async () => {
      for (const aud of [`http://evil.example${TOKEN_PATH}`, `${origin}${TOKEN_PATH}`]) {
        const signed = await assertion('pk-inline', inline, { claims: { aud } });
        const host = new URL(aud).host;
        expectSameInvalidClient(await post(withAssertion(signed)).set('Host', host));
      }
    });

    test('HS256, signed with a secret', async () => {
      const signed = await new SignJWT({
        iss: 'pk-inline',
        sub: 'pk-inline',
        aud: ISSUER,
        exp: seconds() + 60,
        jti: randomUUID(),
      })
        .setProtectedHeader({ alg: 'HS256', kid: inline.kid })
        .sign(Buffer.from('a shared secret of thirty-two bytes!'));
      expectSameInvalidClient(await post(withAssertion(signed)));
    });

    test('alg none', async () => {
      const unsigned = unsignedJwt(
        { iss: 'pk-inline', sub: 'pk-inline', aud: ISSUER, exp: seconds() + 60, jti: 'n' },
        'JWT',
      );
      expectSameInvalidClient(await post(withAssertion(unsigned)));
    });

    test('an unknown kid', async () => {
      const signed = await assertion('pk-inline', inline, { header: { kid: 'unknown' } });
      expectSameInvalidClient(await post(withAssertion(signed)));
    });

    test('the key of another client, under its own kid or the victim’s', async () => {
      for (const kid of [other.kid, inline.kid]) {
        const signed = await assertion('pk-inline', other, { header: { kid } });
        expectSameInvalidClient(await post(withAssertion(signed)));
      }
    });

    test('a body client_id that is not the assertion’s sub', async () => {
      const signed = await assertion('pk-inline', inline);
      expectSameInvalidClient(await post(withAssertion(signed, { client_id: 'pk-other' })));
    });

    test('a jwks_uri that is down, with no key cached: 401, not 503', async () => {
      const signed = await assertion('pk-down', inline);
      expectSameInvalidClient(await post(withAssertion(signed)));
    });

    test('an assertion over 8 KiB', async () => {
      const signed = await assertion('pk-inline', inline, {
        claims: { padding: 'x'.repeat(8 * 1024) },
      });
      expectSameInvalidClient(await post(withAssertion(signed)));
    });

    test('another client_assertion_type, or none', async () => {
      const signed = await assertion('pk-inline', inline);
      expectSameInvalidClient(
        await post(
          form({
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
            client_assertion: signed,
          }),
        ),
      );
      expectSameInvalidClient(await post(form({ client_assertion: signed })));
    });

    test('a client whose method is another (client_secret_basic)', async () => {
      const signed = await assertion('secret-method', inline);
      expectSameInvalidClient(await post(withAssertion(signed)));
    });

    // The two below depend on ClientAuthGuard refusing, after any strategy, a disabled client and a method
    // other than the client's token_endpoint_auth_method.
    test('a disabled client', async () => {
      const signed = await assertion('pk-disabled', inline);
      expectSameInvalidClient(await post(withAssertion(signed)));
    });

    test('a private_key_jwt client that sends its secret instead', async () => {
      expectSameInvalidClient(
        await tokenRequest(app)
          .set(
            'Authorization',
            basicHeader('pk-with-secret', 'pk-secret of at least twenty characters'),
          )
          .send(GRANT),
      );
    });
  });

  test('RFC 6749 §2.3: an assertion next to Basic credentials is two methods: 400', async () => {
    const signed = await assertion('pk-inline', inline);
    const res = await post(withAssertion(signed)).set(
      'Authorization',
      basicHeader('pk-inline', 'x'),
    );
    expect([res.status, res.body.error]).toEqual([400, 'invalid_request']);
  });
});
