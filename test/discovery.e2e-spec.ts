import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { OAuth2Client } from '@badgateway/oauth2-client';
import { generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import * as openid from 'openid-client';
import request from 'supertest';
import { platforms } from './support/app.js';
import { listeningIssuer as listening } from './support/issuer.js';
import { decodeJwt, rfc7638Thumbprint } from './support/jwt.js';
import { es256 } from './support/keys.js';
import { GRANT, TEST_BASIC, tokenRequest } from './support/oauth.js';

const METADATA = '/.well-known/oauth-authorization-server';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const next = generateKeyPairSync('ec', { namedCurve: 'P-256' });

describe.each(platforms)('discovery and keys (%s)', (platform) => {
  let app: INestApplication;
  let origin: string;
  let issuer: string;

  beforeAll(async () => {
    ({ app, origin, issuer } = await listening(platform, () => ({
      signing: [
        { algorithm: 'ES256', privateKey: es256.privateKey, state: 'retired' },
        { algorithm: 'RS256', privateKey: rsa.privateKey, state: 'active' },
        { algorithm: 'ES256', privateKey: next.privateKey, state: 'next' },
      ],
      scopesSupported: ['reports:read', 'reports:write'],
    })));
  });
  afterAll(() => app.close());

  test('RFC 8414 §3: the metadata, with absolute endpoints and the enabled methods', async () => {
    const res = await request(app.getHttpServer()).get(METADATA);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.body).toEqual({
      issuer,
      token_endpoint: `${origin}/oauth2/token`,
      jwks_uri: `${origin}/oauth2/jwks`,
      scopes_supported: ['reports:read', 'reports:write'],
      response_types_supported: [],
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: [
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
      ],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256'],
    });
  });

  test('RFC 7517: every key in force, public members only, with kid, alg and use', async () => {
    const res = await request(app.getHttpServer()).get('/oauth2/jwks');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(
      res.body.keys.map((jwk: Record<string, unknown>) => [jwk.kid, jwk.alg, jwk.use]),
    ).toEqual([
      [rfc7638Thumbprint(es256.publicKey), 'ES256', 'sig'],
      [rfc7638Thumbprint(rsa.publicKey), 'RS256', 'sig'],
      [rfc7638Thumbprint(next.publicKey), 'ES256', 'sig'],
    ]);
    for (const jwk of res.body.keys) {
      expect(
        Object.keys(jwk).filter((member) =>
          ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].includes(member),
        ),
      ).toEqual([]);
    }
  });

  test('a token verifies with the published keys alone, found by its kid (jose, as another service would)', async () => {
    const token = (await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT)).body
      .access_token;
    expect(decodeJwt(token).header.kid).toBe(rfc7638Thumbprint(rsa.publicKey));
    const jwks = (await request(app.getHttpServer()).get('/oauth2/jwks')).body;
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer,
      audience: issuer,
      typ: 'at+jwt',
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.client_id).toBe('testclient');
  });

  test('another path under the well-known segment is not this issuer: 404', async () => {
    expect((await request(app.getHttpServer()).get(`${METADATA}/tenant`)).status).toBe(404);
  });

  test("openid-client's RFC 8414 discovery takes the metadata unchanged and gets a token", async () => {
    const configuration = await openid.discovery(
      new URL(issuer),
      'testclient',
      'testpass',
      openid.ClientSecretBasic('testpass'),
      { algorithm: 'oauth2', execute: [openid.allowInsecureRequests] },
    );
    expect(configuration.serverMetadata().token_endpoint).toBe(`${origin}/oauth2/token`);
    const tokens = await openid.clientCredentialsGrant(configuration, { scope: 'reports:read' });
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('reports:read');
  });

  test("@badgateway/oauth2-client's discovery finds the token endpoint and gets a token", async () => {
    const client = new OAuth2Client({
      server: `${origin}/`,
      discoveryEndpoint: METADATA,
      clientId: 'testclient',
      clientSecret: 'testpass',
    });
    expect(await client.getEndpoint('tokenEndpoint')).toBe(`${origin}/oauth2/token`);
    const token = await client.clientCredentials({ scope: ['reports:read'] });
    expect(token.accessToken.split('.')).toHaveLength(3);
  });
});

describe.each(platforms)(
  'discovery of an issuer with a path, and of HMAC signing (%s)',
  (platform) => {
    test('RFC 8414 §3.1: the well-known segment goes before the issuer path', async () => {
      const { app, origin, issuer } = await listening(platform, () => ({}), {
        issuerPath: '/tenant-a',
        extras: { jwksPath: 'keys' },
      });
      try {
        expect(issuer).toBe(`${origin}/tenant-a`);
        const res = await request(app.getHttpServer()).get(`${METADATA}/tenant-a`);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ issuer, jwks_uri: `${origin}/keys` });
        expect((await request(app.getHttpServer()).get(METADATA)).status).toBe(404);
        expect((await request(app.getHttpServer()).get(`${METADATA}/tenant-b`)).status).toBe(404);
        expect((await request(app.getHttpServer()).get('/keys')).status).toBe(200);
      } finally {
        await app.close();
      }
    });

    test('HMAC keys are never published: no jwks_uri, and the JWKS path answers 404', async () => {
      const { app } = await listening(platform, () => ({
        signing: { algorithm: 'HS256', secret: 's'.repeat(32) },
        jwksMaxAge: 60,
      }));
      try {
        const res = await request(app.getHttpServer()).get(METADATA);
        expect(res.status).toBe(200);
        expect(res.headers['cache-control']).toBe('public, max-age=60');
        expect(res.body.jwks_uri).toBeUndefined();
        expect((await request(app.getHttpServer()).get('/oauth2/jwks')).status).toBe(404);
      } finally {
        await app.close();
      }
    });
  },
);
