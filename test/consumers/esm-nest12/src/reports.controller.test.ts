import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { InMemoryOAuthClientRepository, OAuth2Module } from '@nest-oauth2/server';
import { OAuth2TestTokens } from '@nest-oauth2/server/testing';
import { ReportsController } from './reports.controller.js';

describe('GET /reports', () => {
  let app: INestApplication;
  let tokens: OAuth2TestTokens;

  before(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        OAuth2Module.forRoot({
          issuer: 'http://localhost:3000',
          signing: {
            algorithm: 'RS256',
            privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
          },
          // No database: AppModule's TypeOrmModule is left out, and the test tokens need no client.
          clientRepository: InMemoryOAuthClientRepository,
        }),
      ],
      controllers: [ReportsController],
    }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
    tokens = OAuth2TestTokens.from(app);
  });

  after(() => app.close());

  const getReports = (token?: string) => {
    const req = request(app.getHttpServer()).get('/reports');
    return token === undefined ? req : req.auth(token, { type: 'bearer' });
  };

  test('a token with reports:read: 200, as its client', async () => {
    const token = await tokens.accessToken({ clientId: 'billing', scopes: ['reports:read'] });
    const res = await getReports(token).expect(200);
    assert.deepEqual(res.body, {
      client: 'billing',
      scopes: ['reports:read'],
      reports: ['Q1', 'Q2'],
    });
  });

  test('no token: 401 with a Bearer challenge', async () => {
    const res = await getReports().expect(401);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="Service"');
  });

  test('a token without reports:read: 403 insufficient_scope', async () => {
    const token = await tokens.accessToken({ scopes: ['reports:write'] });
    const res = await getReports(token).expect(403);
    assert.equal(res.body.error, 'insufficient_scope');
    assert.match(res.headers['www-authenticate'], /scope="reports:read"/);
  });

  for (const flaw of ['expired', 'wrong_issuer', 'bad_signature'] as const) {
    test(`a token with a flaw (${flaw}): 401 invalid_token`, async () => {
      const token = await tokens.flawedAccessToken(flaw, { scopes: ['reports:read'] });
      const res = await getReports(token).expect(401);
      assert.equal(res.body.error, 'invalid_token');
    });
  }
});
