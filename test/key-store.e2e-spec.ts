import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { OAuth2KeyStore, OAuthStoredKey, type TypeOrmOAuth2KeyStore } from '../src/index.js';
import { seedClients, startApp, type Platform } from './support/app.js';
import { databases, type IsolatedDatabase } from './support/databases.js';
import { ISSUER } from './support/fixtures.js';
import { decodeJwt } from './support/jwt.js';
import {
  eventually,
  failedStart,
  KEK,
  keyRows,
  keyStoreApp,
  openAdmin,
  OTHER_KEK,
  storeOf,
} from './support/key-store.js';
import { runCapturing } from './support/cli.js';
import { CapturingLogger } from './support/logger.js';
import { CLIENTS, GRANT, TEST_BASIC, tokenRequest } from './support/oauth.js';

const HOUR = 3600;

async function issue(app: INestApplication): Promise<string> {
  const res = await tokenRequest(app).set('Authorization', TEST_BASIC).send(GRANT);
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}
const kidOf = (token: string) => decodeJwt(token).header.kid;

async function jwks(app: INestApplication): Promise<JSONWebKeySet> {
  const res = await request(app.getHttpServer()).get('/oauth2/jwks');
  expect(res.status).toBe(200);
  return res.body as JSONWebKeySet;
}
const publishedKids = async (app: INestApplication) =>
  (await jwks(app)).keys.map((key) => key.kid).sort();

const whoami = (app: INestApplication, token: string) =>
  request(app.getHttpServer()).get('/api/whoami').set('Authorization', `Bearer ${token}`);

describe.each(databases)('the database key store on $name', (database) => {
  let isolated: IsolatedDatabase;
  let admin: DataSource;
  let store: TypeOrmOAuth2KeyStore;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    isolated = await database.create({ shared: true });
    admin = await openAdmin(isolated.options);
    store = storeOf(admin);
  });
  afterAll(async () => {
    await admin?.destroy();
    await isolated?.drop();
  });
  beforeEach(() => admin.getRepository(OAuthStoredKey).clear());
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  const start = async (platform: Platform, options = {}) => {
    const app = await startApp(keyStoreApp(isolated.options, options), { platform });
    apps.push(app);
    return app;
  };

  describe('start-up', () => {
    test('an empty store: the start is refused, saying what to do', async () => {
      const message = await failedStart(keyStoreApp(isolated.options), new CapturingLogger());
      expect(message).toBe(
        'OAuth2Module: cannot load the signing keys from the key store: it holds 0 signing key(s) and ' +
          'none is active: generate one with `nest-oauth2 keys generate --activate`, or activate a next key',
      );
      expect(await keyRows(admin)).toEqual([]);
    });

    test('a wrong key encryption key: refused, naming the option and the kid; nothing is overwritten', async () => {
      const active = await store.generate('ES256', { activate: true });
      await store.generate('RS256');
      const before = await keyRows(admin);
      const logger = new CapturingLogger();

      const message = await failedStart(
        keyStoreApp(isolated.options, { keyEncryptionKey: OTHER_KEK }),
        logger,
      );
      expect(message).toMatch(
        new RegExp(
          '^OAuth2Module: cannot load the signing keys from the key store: signing key ' +
            `"${active.kid}" was sealed with the key encryption key k=[\\w-]{11}, which is neither ` +
            'keyEncryptionKey \\(k=[\\w-]{11}\\) nor one of previousKeyEncryptionKeys$',
        ),
      );
      expect(await keyRows(admin)).toEqual(before);
      // No key material and no key encryption key reach the log.
      const logged = logger.everything().join('\n');
      for (const secret of [KEK, OTHER_KEK, 'PRIVATE KEY', '$aes-256-gcm$']) {
        expect(logged).not.toContain(secret);
      }
    });

    test('a previous key encryption key still opens its keys; new keys are sealed with the current one', async () => {
      const active = await store.generate('ES256', { activate: true });
      const app = await start('express', {
        keyEncryptionKey: OTHER_KEK,
        previousKeyEncryptionKeys: [KEK],
      });
      await seedClients(app, [CLIENTS.test]);
      expect(kidOf(await issue(app))).toBe(active.kid);

      const added = await app.get(OAuth2KeyStore).generate('ES256');
      const rows = await keyRows(admin);
      const sealedBy = (kid: string) =>
        /k=([\w-]{11})\$/.exec(
          String(rows.find((row) => row.kid === kid)?.sealed_private_key),
        )?.[1];
      expect(sealedBy(added.kid)).not.toBe(sealedBy(active.kid));
      // Only the new key encryption key opens the new key; the app's store opens both.
      await expect(storeOf(admin, KEK).load()).rejects.toThrow(`signing key "${added.kid}"`);
      expect((await app.get(OAuth2KeyStore).load()).map((key) => key.kid).sort()).toEqual(
        [active.kid, added.kid].sort(),
      );
    });
  });

  test('a rotation while two instances (Express, Fastify) issue tokens: generate → activate → retire → prune', async () => {
    const first = await store.generate('ES256', { activate: true });
    const express = await start('express');
    const fastify = await start('fastify');
    const instances = [express, fastify];
    await seedClients(express, [CLIENTS.test]);

    const oldToken = await issue(fastify);
    expect(kidOf(oldToken)).toBe(first.kid);

    // generate: the next key is published by every instance within the refresh interval; it signs nothing.
    const next = await store.generate('RS256');
    expect(next).toMatchObject({ state: 'next', algorithm: 'RS256', activatedAt: null });
    await eventually(async () => {
      for (const app of instances) {
        expect(await publishedKids(app)).toEqual([first.kid, next.kid].sort());
      }
    });
    expect(kidOf(await issue(express))).toBe(first.kid);

    // activate: refused while resource servers may not know the key yet; then the next key signs.
    await expect(store.activate(next.kid, { minNextAge: HOUR })).rejects.toMatchObject({
      code: 'published_too_recently',
    });
    await eventually(async () => {
      const changed = await store.activate(next.kid, { minNextAge: 1 });
      expect(changed.map((key) => [key.kid, key.state])).toEqual([
        [first.kid, 'retired'],
        [next.kid, 'active'],
      ]);
    });
    await eventually(async () => {
      for (const app of instances) expect(kidOf(await issue(app))).toBe(next.kid);
    });
    const newToken = await issue(fastify);
    expect(decodeJwt(newToken).header.alg).toBe('RS256');

    // The retired key still verifies what it signed, on every instance, and for an outside verifier.
    for (const app of instances) {
      expect((await whoami(app, oldToken)).status).toBe(200);
      const keys = createLocalJWKSet(await jwks(app));
      await expect(jwtVerify(oldToken, keys, { issuer: ISSUER })).resolves.toBeDefined();
      await expect(jwtVerify(newToken, keys, { issuer: ISSUER })).resolves.toBeDefined();
    }

    // retire: a next key that will never sign; twice is a no-op; the active key is refused.
    const spare = await store.generate('PS256');
    expect((await store.retire(spare.kid)).state).toBe('retired');
    const retiredAt = (await store.retire(spare.kid)).retiredAt;
    expect((await store.list()).find((key) => key.kid === spare.kid)?.retiredAt).toEqual(retiredAt);
    await expect(store.retire(next.kid)).rejects.toMatchObject({ code: 'refused_transition' });

    // prune: nothing while a token of the retired keys may still be valid; then both retired keys go.
    expect(await store.prune(HOUR)).toEqual([]);
    const later = new Date(Date.now() + (HOUR + 1) * 1000);
    const pruned = await store.prune(HOUR, later);
    expect(pruned.map((key) => key.kid).sort()).toEqual([first.kid, spare.kid].sort());
    expect((await store.list()).map((key) => [key.kid, key.state])).toEqual([[next.kid, 'active']]);
    await eventually(async () => {
      for (const app of instances) {
        expect(await publishedKids(app)).toEqual([next.kid]);
        const refused = await whoami(app, oldToken);
        expect(refused.status).toBe(401);
        expect(refused.headers['www-authenticate']).toMatch(/error="invalid_token"/);
        expect((await whoami(app, newToken)).status).toBe(200);
      }
    });
  });

  test('the same rotation through the CLI, on the database the app uses', async () => {
    const env = {
      DATABASE_URL: isolated.url,
      OAUTH2_KEY_ENCRYPTION_KEY: KEK,
      OAUTH2_JWKS_MAX_AGE: '0',
      OAUTH2_KEY_REFRESH_INTERVAL: '1',
      OAUTH2_ACCESS_TOKEN_LIFETIME: '1',
    };
    /** `keys <command> --json [-- <kid>]`: a kid may start with '-'. */
    const cli = async (command: string, ...argv: string[]) => {
      const result = await runCapturing(['keys', command, '--json', ...argv], env, process.cwd());
      expect(result).toMatchObject({ code: 0, stderr: '' });
      return JSON.parse(result.stdout);
    };
    const first = await cli('generate', '--alg', 'ES256', '--activate');
    const app = await start('fastify');
    await seedClients(app, [CLIENTS.test]);
    const oldToken = await issue(app);
    expect(kidOf(oldToken)).toBe(first.kid);

    const next = await cli('generate');
    expect(next).toMatchObject({ alg: 'RS256', state: 'next' });
    await eventually(async () => expect(await publishedKids(app)).toContain(next.kid));
    await eventually(async () => {
      expect(
        (await cli('activate', '--', next.kid)).map((key: { kid: string }) => key.kid),
      ).toEqual([first.kid, next.kid]);
    });
    await eventually(async () => expect(kidOf(await issue(app))).toBe(next.kid));
    expect((await whoami(app, oldToken)).status).toBe(200);

    await eventually(async () => {
      expect((await cli('prune')).map((key: { kid: string }) => key.kid)).toEqual([first.kid]);
    });
    expect((await cli('list')).map((key: { kid: string }) => key.kid)).toEqual([next.kid]);
    await eventually(async () => expect((await whoami(app, oldToken)).status).toBe(401));
  });

  test('a reload that fails keeps the keys in force, and the instance keeps issuing', async () => {
    const active = await store.generate('ES256', { activate: true });
    const logger = new CapturingLogger();
    const app = await startApp(keyStoreApp(isolated.options), { logger });
    apps.push(app);
    await seedClients(app, [CLIENTS.test]);

    // A key sealed under a key encryption key this instance does not have.
    await storeOf(admin, OTHER_KEK).generate('ES256');
    await eventually(async () => {
      expect(logger.text()).toMatch(
        /warn \[OAuth2KeyRing\] Could not reload the signing keys \(signing key ".+" was sealed with/,
      );
    });
    expect(kidOf(await issue(app))).toBe(active.kid);
    expect(await publishedKids(app)).toEqual([active.kid]);
  });

  test('two concurrent activations from two connections: never two active keys', async () => {
    await store.generate('ES256', { activate: true });
    const [a, b] = [await store.generate('ES256'), await store.generate('ES256')];
    const second = await openAdmin(isolated.options);
    try {
      const results = await Promise.allSettled([
        store.activate(a.kid, { minNextAge: 0 }),
        storeOf(second).activate(b.kid, { minNextAge: 0 }),
      ]);
      // Serialized, both succeed (the second retires the first's key); overlapping, one fails whole.
      expect(results.some((result) => result.status === 'fulfilled')).toBe(true);
      const active = (await store.list()).filter((key) => key.state === 'active');
      expect(active).toHaveLength(1);
      expect([a.kid, b.kid]).toContain(active[0].kid);
    } finally {
      await second.destroy();
    }
  });
});

test('`keyStore: true` without a key encryption key: the module refuses to start, naming the option', async () => {
  const metadata = keyStoreApp(
    { type: 'better-sqlite3', database: ':memory:' },
    { keyEncryptionKey: undefined },
  );
  await expect(
    Test.createTestingModule(metadata).setLogger(new CapturingLogger()).compile(),
  ).rejects.toThrow(
    'OAuth2Module: `keyStore: true` needs `keyEncryptionKey` (32+ random bytes, e.g. `openssl rand -hex 32`)',
  );
});
