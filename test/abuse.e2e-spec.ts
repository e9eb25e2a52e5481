import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ClientSecretHasher,
  InMemoryOAuthClientRepository,
  OAuth2Module,
  OAuthClient,
  OAuthClientRepository,
  type OAuth2ModuleOptions,
} from '../src/index.js';
import { platforms, startApp } from './support/app.js';
import { testOptions } from './support/fixtures.js';
import { basicHeader, GRANT } from './support/oauth.js';

/** The client whose chosen (scrypt) secret a stranger tries to lock out. */
const VICTIM = { clientId: 'alice', secret: 'alice chose this long passphrase' };
const GENERATED = 'generated-client';
const ATTACKER = '127.0.0.2';
const OWN = '127.0.0.3';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A token request sent from a given loopback address, so the server sees it as that client's. */
function tokenFrom(
  port: number,
  localAddress: string,
  headers: Record<string, string>,
  body = GRANT,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        localAddress,
        method: 'POST',
        path: '/oauth2/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe.each(platforms)('abuse resistance (%s)', (platform) => {
  async function listening(options: Partial<OAuth2ModuleOptions>) {
    const app = await startApp(
      {
        imports: [
          OAuth2Module.forRoot({
            ...testOptions(options),
            clientRepository: { useValue: new InMemoryOAuthClientRepository() },
          }),
        ],
      },
      { platform },
    );
    const hasher = app.get(ClientSecretHasher);
    const clients = app.get(OAuthClientRepository);
    await clients.save(
      OAuthClient.create({
        clientId: VICTIM.clientId,
        clientSecret: await hasher.hash(VICTIM.secret),
        scope: 'reports:read',
      }),
    );
    const generated = hasher.createSecret();
    await clients.save(
      OAuthClient.create({
        clientId: GENERATED,
        clientSecret: generated.hash,
        scope: 'reports:read',
      }),
    );
    await clients.save(OAuthClient.create({ clientId: 'public-client', scope: 'reports:read' }));
    await clients.save(
      OAuthClient.create({
        clientId: 'switched-off',
        clientSecret: hasher.digestGenerated(generated.secret),
        disabled: true,
      }),
    );
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    return { app, port, generatedSecret: generated.secret };
  }

  describe('lockout by a stranger', () => {
    let app: INestApplication;
    let port: number;

    beforeAll(async () => {
      // One KDF slot and a short queue: the setting where a flood used to shed the victim. The verification
      // cache is off, so every request of the victim pays the KDF, as after a cold start.
      ({ app, port } = await listening({
        secretVerification: { maxConcurrentKdf: 1, maxQueuedKdf: 4, cacheTtl: 0 },
        clientAuthThrottle: { freeFailures: 1000, maxFailures: 2000, maxFailuresPerClient: 4000 },
      }));
    });
    afterAll(() => app.close());

    test('a flood of wrong secrets for alice from 127.0.0.2 leaves her correct secret from 127.0.0.3 working', async () => {
      let stop = false;
      const flood: Answer[] = [];
      const attacker = async () => {
        while (!stop) {
          flood.push(
            await tokenFrom(port, ATTACKER, {
              authorization: basicHeader(VICTIM.clientId, `guess ${flood.length}`),
            }),
          );
        }
      };
      const attackers = Array.from({ length: 12 }, attacker);
      const own: number[] = [];
      try {
        for (let i = 0; i < 8; i++) {
          own.push(
            (
              await tokenFrom(port, OWN, {
                authorization: basicHeader(VICTIM.clientId, VICTIM.secret),
              })
            ).status,
          );
        }
      } finally {
        stop = true;
        await Promise.all(attackers);
      }
      expect(own).toEqual(Array(8).fill(200));
      // The flood was refused (401) or shed (503): never let through.
      expect(flood.length).toBeGreaterThan(12);
      expect(new Set(flood.map((answer) => answer.status))).toEqual(
        new Set(flood.some((a) => a.status === 503) ? [401, 503] : [401]),
      );
    });
  });

  describe('guessing', () => {
    let app: INestApplication;
    let port: number;
    let generatedSecret: string;

    beforeAll(async () => {
      ({ app, port, generatedSecret } = await listening({
        clientAuthThrottle: {
          window: 60,
          freeFailures: 2,
          maxFailures: 5,
          maxDelayMs: 100,
          maxFailuresPerClient: 14,
        },
      }));
    });
    afterAll(() => app.close());

    test('an address guessing a secret gets 401s, then 429 with Retry-After; another address is not held back', async () => {
      const statuses: number[] = [];
      let last: Answer | undefined;
      for (let i = 0; i < 6; i++) {
        last = await tokenFrom(port, '127.0.0.4', {
          authorization: basicHeader(GENERATED, `guess ${i}`),
        });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
      expect(JSON.parse(last!.text)).toEqual({
        error: 'invalid_client',
        error_description: 'Too many failed client authentications, retry later',
      });
      expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
      expect(last!.headers['www-authenticate']).toBeUndefined();
      expect(last!.headers['cache-control']).toBe('no-store');
      // Even the right secret waits out the window from there…
      const right = { authorization: basicHeader(GENERATED, generatedSecret) };
      expect((await tokenFrom(port, '127.0.0.4', right)).status).toBe(429);
      // …but the client's own address never noticed.
      expect((await tokenFrom(port, '127.0.0.5', right)).status).toBe(200);
    });

    test('a success clears its address’s failures', async () => {
      const wrong = { authorization: basicHeader(GENERATED, 'wrong') };
      for (let i = 0; i < 4; i++)
        expect((await tokenFrom(port, '127.0.0.6', wrong)).status).toBe(401);
      const right = { authorization: basicHeader(GENERATED, generatedSecret) };
      expect((await tokenFrom(port, '127.0.0.6', right)).status).toBe(200);
      for (let i = 0; i < 4; i++)
        expect((await tokenFrom(port, '127.0.0.6', wrong)).status).toBe(401);
    });

    test('a distributed guess: past maxFailuresPerClient, addresses that failed get 429; a clean one gets its token', async () => {
      const wrong = { authorization: basicHeader(VICTIM.clientId, 'wrong') };
      for (const address of [
        '127.0.0.7',
        '127.0.0.8',
        '127.0.0.9',
        '127.0.0.10',
        '127.0.0.11',
        '127.0.0.12',
        '127.0.0.14',
      ]) {
        for (let i = 0; i < 2; i++) await tokenFrom(port, address, wrong);
      }
      // 7 addresses × 2 failures: 14, the limit for the client id. Each address alone is far below its own.
      expect((await tokenFrom(port, '127.0.0.7', wrong)).status).toBe(429);
      const right = { authorization: basicHeader(VICTIM.clientId, VICTIM.secret) };
      expect((await tokenFrom(port, '127.0.0.13', right)).status).toBe(200);
    });
  });

  describe('no client enumeration through the answer', () => {
    let app: INestApplication;
    let port: number;

    beforeAll(async () => {
      ({ app, port } = await listening({ clientAuthThrottle: false }));
    });
    afterAll(() => app.close());

    test('unknown id, wrong generated secret, wrong chosen secret, a public client while public clients are off, a disabled client: byte-identical 401s', async () => {
      const answers = await Promise.all(
        [
          { authorization: basicHeader('nobody', 'secret') },
          { authorization: basicHeader(GENERATED, 'wrong') },
          { authorization: basicHeader(VICTIM.clientId, 'wrong') },
          { authorization: basicHeader('switched-off', 'anything') },
        ].map((headers) => tokenFrom(port, '127.0.0.20', headers)),
      );
      answers.push(await tokenFrom(port, '127.0.0.20', {}, `${GRANT}&client_id=public-client`));
      for (const answer of answers) {
        expect(answer.status).toBe(401);
        expect(answer.text).toBe(answers[0].text);
        expect(answer.headers['www-authenticate']).toBe(answers[0].headers['www-authenticate']);
        expect(answer.headers['content-type']).toBe(answers[0].headers['content-type']);
      }
      expect(JSON.parse(answers[0].text)).toEqual({
        error: 'invalid_client',
        error_description: 'Client authentication failed',
      });
    });
  });

  describe('the pepper covers every hash, and old ones are upgraded on use', () => {
    const PEPPER = 'a server-side pepper of at least 32 bytes';
    let app: INestApplication;
    let port: number;

    beforeAll(async () => {
      ({ app, port } = await listening({ secretPepper: PEPPER, clientAuthThrottle: false }));
    });
    afterAll(() => app.close());

    test('an unpeppered digest and an unpeppered scrypt row verify, then are rewritten under the pepper', async () => {
      const clients = app.get(OAuthClientRepository);
      const unpeppered = new ClientSecretHasher();
      const generated = unpeppered.createSecret();
      const chosen = 'a chosen secret from before the pepper';
      await clients.save(
        OAuthClient.create({ clientId: 'old-hashes', clientSecret: generated.hash }),
      );
      await clients.addSecret('old-hashes', {
        id: 'row-1',
        hash: await unpeppered.hash(chosen),
        createdAt: new Date(),
        expiresAt: null,
        lastUsedAt: null,
      });
      for (const secret of [generated.secret, chosen]) {
        const answer = await tokenFrom(port, '127.0.0.30', {
          authorization: basicHeader('old-hashes', secret),
        });
        expect(answer.status).toBe(200);
      }
      const client = await clients.findById('old-hashes');
      const [row] = await clients.findSecrets('old-hashes');
      expect(client?.clientSecret).toMatch(/^\$hmac-sha256\$k=[A-Za-z0-9_-]{8}\$/);
      expect(client?.clientSecret).not.toMatch(/\$k=0\$/);
      expect(row.hash).toMatch(/^\$scrypt\$k=[A-Za-z0-9_-]{4},ln=15,r=8,p=1\$/);
      expect(row.hash.length).toBeLessThanOrEqual(80);
      // Both still work under their new hashes.
      for (const secret of [generated.secret, chosen]) {
        const answer = await tokenFrom(port, '127.0.0.30', {
          authorization: basicHeader('old-hashes', secret),
        });
        expect(answer.status).toBe(200);
      }
    });
  });

  describe('legacy plaintext mode', () => {
    let app: INestApplication;
    let port: number;

    beforeAll(async () => {
      ({ app, port } = await listening({
        legacyPlaintextSecrets: true,
        clientAuthThrottle: false,
      }));
    });
    afterAll(() => app.close());

    test('a stored value shaped like another scheme’s hash is never taken for a plaintext secret', async () => {
      const bcrypt = '$2y$10$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP';
      await app
        .get(OAuthClientRepository)
        .save(OAuthClient.create({ clientId: 'foreign-hash', clientSecret: bcrypt }));
      await app
        .get(OAuthClientRepository)
        .save(OAuthClient.create({ clientId: 'plain-legacy', clientSecret: 'legacy-plaintext' }));
      const foreign = await tokenFrom(port, '127.0.0.40', {
        authorization: basicHeader('foreign-hash', bcrypt),
      });
      expect(foreign.status).toBe(401);
      // The rule is the shape, not legacy mode being off: a true plaintext row still works.
      const plain = await tokenFrom(port, '127.0.0.40', {
        authorization: basicHeader('plain-legacy', 'legacy-plaintext'),
      });
      expect(plain.status).toBe(200);
    });
  });
});
