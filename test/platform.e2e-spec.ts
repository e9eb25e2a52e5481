import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import { OAuth2ResourceServerModule, type OAuth2SigningKeyOptions } from '../src/index.js';
import { platforms, seedClients, startApp, type Platform } from './support/app.js';
import { sqliteDatabase } from './support/databases.js';
import { ISSUER } from './support/fixtures.js';
import { freePort, listeningIssuer, type ListeningIssuer } from './support/issuer.js';
import { decodeJwt, rfc7638Thumbprint } from './support/jwt.js';
import { eventually, keyStoreApp, openAdmin, storeOf } from './support/key-store.js';
import { CLIENTS, GRANT, TEST_BASIC, tokenRequest } from './support/oauth.js';
import { resourceControllers } from './support/resource.controller.js';

const first = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const second = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** A service with no database and no key that accepts the issuer's tokens. */
function resourceServer(platform: Platform, issuer: string): Promise<INestApplication> {
  return startApp(
    {
      imports: [OAuth2ResourceServerModule.forRoot({ issuer, audience: issuer })],
      controllers: resourceControllers,
    },
    { platform },
  );
}

const tokenFrom = async (issuer: ListeningIssuer, scope = 'reports:read reports:write') =>
  (
    await tokenRequest(issuer.app)
      .set('Authorization', TEST_BASIC)
      .send(`${GRANT}&scope=${encodeURIComponent(scope)}`)
  ).body.access_token as string;

const call = (app: INestApplication, token: string, path = '/api/whoami') =>
  request(app.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`);

describe.each(platforms)('an issuer and a resource server on real ports (%s)', (platform) => {
  let issuer: ListeningIssuer;
  let service: INestApplication;
  const keys = (signing: OAuth2SigningKeyOptions[]) => () => ({ signing });

  beforeAll(async () => {
    issuer = await listeningIssuer(
      platform,
      keys([
        { algorithm: 'ES256', privateKey: first.privateKey, state: 'active' },
        // Published before it signs, as step 1 of a rotation.
        { algorithm: 'RS256', privateKey: second.privateKey, state: 'next' },
      ]),
    );
    service = await resourceServer(platform, issuer.issuer);
  });
  afterAll(async () => {
    await service.close();
    await issuer.app.close();
  });

  test('a token of the issuer is accepted through discovery and its JWKS; scopes apply', async () => {
    const token = await tokenFrom(issuer);
    const res = await call(service, token);
    expect({ status: res.status, body: res.body }).toEqual({
      status: 200,
      body: { client_id: 'testclient', sub: 'testclient', scope: 'reports:read reports:write' },
    });
    const narrow = await tokenFrom(issuer, 'reports:read');
    expect((await call(service, narrow, '/api/reports')).status).toBe(200);
    const denied = await request(service.getHttpServer())
      .post('/api/reports')
      .set('Authorization', `Bearer ${narrow}`);
    expect(denied.status).toBe(403);
    expect(denied.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
  });

  test('a rotation by redeploying the issuer, under continuous traffic: no request fails', async () => {
    const before = await tokenFrom(issuer);
    expect(decodeJwt(before).header.kid).toBe(rfc7638Thumbprint(first.publicKey));
    const statuses: number[] = [];
    let running = true;
    const traffic = (async () => {
      while (running) statuses.push((await call(service, before)).status);
    })();
    // Step 2 of the rotation: the next key becomes active, the old one retired, on the same address.
    await issuer.app.close();
    issuer = await listeningIssuer(
      platform,
      keys([
        { algorithm: 'ES256', privateKey: first.privateKey, state: 'retired' },
        { algorithm: 'RS256', privateKey: second.privateKey, state: 'active' },
      ]),
      { port: issuer.port },
    );
    const after = await tokenFrom(issuer);
    expect(decodeJwt(after).header.kid).toBe(rfc7638Thumbprint(second.publicKey));
    for (let i = 0; i < 20; i++) statuses.push((await call(service, after)).status);
    running = false;
    await traffic;
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  });

  test('the issuer stopped: the resource server keeps accepting tokens with its cached keys', async () => {
    const token = await tokenFrom(issuer);
    expect((await call(service, token)).status).toBe(200);
    await issuer.app.close();
    try {
      expect((await call(service, token)).status).toBe(200);
    } finally {
      issuer = await listeningIssuer(
        platform,
        keys([{ algorithm: 'RS256', privateKey: second.privateKey }]),
        { port: issuer.port },
      );
    }
  });
});

describe.each(platforms)('a resource server whose issuer never answered (%s)', (platform) => {
  test('starts anyway, and answers 503 with Retry-After until it has keys', async () => {
    const port = await freePort(platform);
    const service = await resourceServer(platform, `http://127.0.0.1:${port}`);
    try {
      const res = await call(service, 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln');
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(res.body.error).toBe('server_error');
    } finally {
      await service.close();
    }
  });
});

describe.each(platforms)(
  'a rotation through the database key store, seen by a resource server under continuous traffic (%s)',
  (platform) => {
    test('generate → wait → activate → retire → prune: no request fails', async () => {
      const database = await sqliteDatabase.create({ shared: true });
      const admin = await openAdmin(database.options);
      const store = storeOf(admin);
      const first = await store.generate('ES256', { activate: true });
      const port = await freePort(platform);
      const issuerApp = await startApp(
        keyStoreApp(database.options, { jwksMaxAge: 1, accessTokenLifetime: 4 }),
        {
          platform,
        },
      );
      await seedClients(issuerApp, [CLIENTS.test]);
      await issuerApp.listen(port, '127.0.0.1');
      const service = await startApp(
        {
          imports: [
            OAuth2ResourceServerModule.forRoot({
              issuer: ISSUER,
              audience: ISSUER,
              jwksUri: `http://127.0.0.1:${port}/oauth2/jwks`,
              jwksCacheMinSeconds: 1,
              jwksCacheMaxSeconds: 1,
              jwksCooldown: 1,
            }),
          ],
          controllers: resourceControllers,
        },
        { platform },
      );
      const statuses: number[] = [];
      const kids = new Set<unknown>();
      let running = true;
      // A client that takes a fresh token each time and calls the resource server with it.
      const traffic = (async () => {
        while (running) {
          const token = await tokenFrom({ app: issuerApp } as ListeningIssuer);
          kids.add(decodeJwt(token).header.kid);
          statuses.push((await call(service, token)).status);
        }
      })();
      try {
        const next = await store.generate('RS256');
        // Published for longer than the JWKS max-age (and the issuer's refresh interval) before it signs.
        await eventually(async () => {
          await store.activate(next.kid, { minNextAge: 3 });
        });
        await eventually(async () => expect(kids.has(next.kid)).toBe(true));
        // Prune once the retired key's tokens can no longer be valid: their lifetime (4 s here; a whole-second exp can leave a token less than one) and the
        // issuer's refresh interval (1 s), during which it may still have signed with the retired key.
        await eventually(async () => {
          const pruned = await store.prune(5);
          expect(pruned.map((key) => key.kid)).toEqual([first.kid]);
        });
        const after = statuses.length;
        await eventually(async () => expect(statuses.length).toBeGreaterThan(after + 20));
      } finally {
        running = false;
        await traffic;
        await service.close();
        await issuerApp.close();
        await admin.destroy();
        await database.drop();
      }
      expect(kids.size).toBe(2);
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
    });
  },
);
