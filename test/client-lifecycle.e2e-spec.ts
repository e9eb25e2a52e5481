import { beforeAll, describe, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  ClientSecretHasher,
  OAuthClient,
  OAuthClientRepository,
  type OAuthClientSecret,
} from '../src/index.js';
import { decodeJwt } from './support/jwt.js';
import { appCases, useApp } from './support/matrix.js';
import {
  basicHeader,
  expectInvalidClient,
  expectTokenError,
  GRANT,
  tokenRequest,
} from './support/oauth.js';

const API = 'https://api.test.example/reports';
const BILLING = 'urn:test:billing';

/** A secret row as the CLI adds one: a random id, a generated secret's digest. */
function newSecret(
  hasher: ClientSecretHasher,
  expiresAt: Date | null = null,
): { secret: string; row: OAuthClientSecret } {
  const { secret, hash } = hasher.createSecret();
  return {
    secret,
    row: {
      id: randomBytes(16).toString('base64url'),
      hash,
      createdAt: new Date(),
      expiresAt,
      lastUsedAt: null,
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(appCases)('client lifecycle ($name)', (appCase) => {
  const getApp = useApp(appCase, { maxAccessTokenLifetime: 7200 });
  let app: INestApplication;
  let clients: OAuthClientRepository;
  let hasher: ClientSecretHasher;

  /** Registers a client with a generated secret in `client_secret`; returns that secret. */
  async function register(clientId: string, fields: Partial<OAuthClient> = {}): Promise<string> {
    const { secret, hash } = hasher.createSecret();
    await clients.save(
      OAuthClient.create({ clientId, clientSecret: hash, scope: 'reports:read', ...fields }),
    );
    return secret;
  }

  const basic = (clientId: string, secret: string, body = GRANT) =>
    tokenRequest(app).set('Authorization', basicHeader(clientId, secret)).send(body);

  beforeAll(() => {
    app = getApp();
    clients = app.get(OAuthClientRepository);
    hasher = app.get(ClientSecretHasher);
  });

  describe('several secrets, with expiry', () => {
    test('a rotation with overlap: a client that keeps calling never fails, and the old secret stops at its expiry', async () => {
      let current = await register('rotating');
      let calls = 0;
      const failures: number[] = [];
      let stop = false;
      const caller = (async () => {
        while (!stop) {
          const res = await basic('rotating', current);
          calls++;
          if (res.status !== 200) failures.push(res.status);
        }
      })();
      try {
        await sleep(100);
        // `client rotate-secret rotating --keep-old-for …`: a new secret, the old one expiring soon.
        const old = current;
        const next = newSecret(hasher);
        await clients.addSecret('rotating', next.row);
        const overlapEnds = new Date(Date.now() + 1500);
        await clients.expireSecrets('rotating', ['primary'], overlapEnds);
        await sleep(100);
        expect((await basic('rotating', old)).status).toBe(200);
        expect((await basic('rotating', next.secret)).status).toBe(200);
        // The client redeploys with the new secret within the overlap.
        current = next.secret;
        await sleep(Math.max(0, overlapEnds.getTime() - Date.now()) + 100);
        expectInvalidClient(await basic('rotating', old));
      } finally {
        stop = true;
        await caller;
      }
      expect(calls).toBeGreaterThan(5);
      expect(failures).toEqual([]);
    });

    test('an expired secret is refused; an unexpired one of the same client still works', async () => {
      const primary = await register('expiring');
      const expired = newSecret(hasher, new Date(Date.now() - 1000));
      const later = newSecret(hasher, new Date(Date.now() + 3_600_000));
      await clients.addSecret('expiring', expired.row);
      await clients.addSecret('expiring', later.row);
      expectInvalidClient(await basic('expiring', expired.secret));
      expect((await basic('expiring', later.secret)).status).toBe(200);
      expect((await basic('expiring', primary)).status).toBe(200);
      // The seed column's secret expires like the others.
      await clients.expireSecrets('expiring', ['primary'], new Date(Date.now() - 1));
      expectInvalidClient(await basic('expiring', primary));
      expect((await basic('expiring', later.secret)).status).toBe(200);
    });

    test('a revoked secret is refused at once; the others are untouched', async () => {
      const primary = await register('revoking');
      const extra = newSecret(hasher);
      await clients.addSecret('revoking', extra.row);
      expect((await basic('revoking', extra.secret)).status).toBe(200);
      expect(await clients.removeSecret('revoking', extra.row.id)).toBe(true);
      expectInvalidClient(await basic('revoking', extra.secret));
      expect((await basic('revoking', primary)).status).toBe(200);
    });

    test('a client whose every secret expired stays confidential: no secret, no token, even sent alone', async () => {
      await register('all-expired', { clientSecretExpiresAt: new Date(Date.now() - 1) });
      expectInvalidClient(await tokenRequest(app).send(`${GRANT}&client_id=all-expired`));
      expectInvalidClient(await basic('all-expired', ''));
    });

    test('the last use of a secret is recorded, without a write per token', async () => {
      await register('used');
      const extra = newSecret(hasher);
      await clients.addSecret('used', extra.row);
      const before = Date.now();
      for (let i = 0; i < 3; i++) expect((await basic('used', extra.secret)).status).toBe(200);
      let recorded: OAuthClientSecret | undefined;
      for (let i = 0; i < 50 && !recorded?.lastUsedAt; i++) {
        await sleep(20);
        // Through a write, which evicts the lookup cache, to read what storage holds.
        await clients.expireSecrets('used', [], new Date());
        recorded = (await clients.findSecrets('used')).find((s) => s.id === extra.row.id);
      }
      expect(recorded?.lastUsedAt?.getTime()).toBeGreaterThanOrEqual(before - 1);
      const first = recorded!.lastUsedAt!.getTime();
      expect((await basic('used', extra.secret)).status).toBe(200);
      await sleep(50);
      await clients.expireSecrets('used', [], new Date());
      const again = (await clients.findSecrets('used')).find((s) => s.id === extra.row.id);
      expect(again?.lastUsedAt?.getTime()).toBe(first);
    });
  });

  describe('per-client authentication method and disabled clients (RFC 7591 §2)', () => {
    test('client_secret_post only: Basic is refused with the same 401 as a wrong secret', async () => {
      const secret = await register('post-only', { tokenEndpointAuthMethod: 'client_secret_post' });
      expect(
        (await tokenRequest(app).send(`${GRANT}&client_id=post-only&client_secret=${secret}`))
          .status,
      ).toBe(200);
      const basicRes = await basic('post-only', secret);
      expectInvalidClient(basicRes);
      expect(basicRes.body).toEqual((await basic('post-only', 'wrong')).body);
    });

    test('client_secret_basic only: the form body is refused', async () => {
      const secret = await register('basic-only', {
        tokenEndpointAuthMethod: 'client_secret_basic',
      });
      expect((await basic('basic-only', secret)).status).toBe(200);
      expectInvalidClient(
        await tokenRequest(app).send(`${GRANT}&client_id=basic-only&client_secret=${secret}`),
      );
    });

    test('a disabled client is refused with the body an unknown client gets, and works again once enabled', async () => {
      const secret = await register('switchable');
      const client = (await clients.findById('switchable'))!;
      await clients.save({ ...client, disabled: true });
      const refused = await basic('switchable', secret);
      expectInvalidClient(refused);
      expect(refused.text).toBe((await basic('nobody-here', secret)).text);
      await clients.save({ ...client, disabled: false });
      expect((await basic('switchable', secret)).status).toBe(200);
    });
  });

  describe('audience (RFC 8707) and lifetime, per client', () => {
    test('no resource: the client’s default audience; resources asked: exactly those', async () => {
      const secret = await register('audiences', { audience: `${API} ${BILLING}` });
      const none = await basic('audiences', secret);
      expect(decodeJwt(none.body.access_token).payload.aud).toBe(API);
      const one = await basic(
        'audiences',
        secret,
        `${GRANT}&resource=${encodeURIComponent(BILLING)}`,
      );
      expect(one.status).toBe(200);
      expect(decodeJwt(one.body.access_token).payload.aud).toBe(BILLING);
      const both = await basic(
        'audiences',
        secret,
        `${GRANT}&resource=${encodeURIComponent(API)}&resource=${encodeURIComponent(BILLING)}`,
      );
      expect(decodeJwt(both.body.access_token).payload.aud).toEqual([API, BILLING]);
    });

    test.each([
      ['one the client may not have', 'https://other.test.example/'],
      ['a fragment', `${API}#x`],
      ['a relative reference', '/reports'],
    ])('a resource that is %s → 400 invalid_target', async (_name, resource) => {
      const secret = await register(`target-${_name.length}`, { audience: API });
      const res = await basic(
        `target-${_name.length}`,
        secret,
        `${GRANT}&resource=${encodeURIComponent(resource)}`,
      );
      expectTokenError(res, 400, 'invalid_target');
    });

    test('the client’s lifetime in expires_in and exp, cut to maxAccessTokenLifetime', async () => {
      const short = await register('short-lived', { accessTokenLifetime: 120 });
      const res = await basic('short-lived', short);
      expect(res.body.expires_in).toBe(120);
      const { payload } = decodeJwt(res.body.access_token);
      expect((payload.exp as number) - (payload.iat as number)).toBe(120);
      const long = await register('long-lived', { accessTokenLifetime: 1_000_000 });
      const capped = await basic('long-lived', long);
      expect(capped.body.expires_in).toBe(7200);
      const claims = decodeJwt(capped.body.access_token).payload;
      expect((claims.exp as number) - (claims.iat as number)).toBe(7200);
    });

    test('sub is the client’s user_id when set, else its id', async () => {
      const delegate = await register('acting', { userId: 'user-7' });
      const own = await register('itself');
      expect(decodeJwt((await basic('acting', delegate)).body.access_token).payload.sub).toBe(
        'user-7',
      );
      expect(decodeJwt((await basic('itself', own)).body.access_token).payload.sub).toBe('itself');
    });
  });
});
