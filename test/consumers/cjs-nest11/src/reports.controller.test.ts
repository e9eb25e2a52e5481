// A node:test spec of the guarded route, with the package's testing kit and no database. It also proves the
// kit's types reach a CommonJS app: tsc's node10 resolution ignores package.json "exports" and finds
// @nest-oauth2/server/testing through "typesVersions". Nest's own NestFactory and fetch stand in for
// @nestjs/testing and supertest, which this app does not install.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InMemoryOAuthClientRepository, OAuth2Module } from '@nest-oauth2/server';
import { OAuth2TestTokens } from '@nest-oauth2/server/testing';
import { ReportsController } from './reports.controller';

@Module({
  imports: [
    OAuth2Module.forRoot({
      issuer: 'http://localhost:3000',
      signing: {
        algorithm: 'RS256',
        privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      },
      clientRepository: InMemoryOAuthClientRepository,
    }),
  ],
  controllers: [ReportsController],
})
class ReportsTestModule {}

describe('GET /reports', () => {
  let app: INestApplication;
  let tokens: OAuth2TestTokens;
  let url: string;

  before(async () => {
    app = await NestFactory.create(ReportsTestModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    url = `${await app.getUrl()}/reports`;
    tokens = OAuth2TestTokens.from(app);
  });

  after(() => app.close());

  const getReports = (token?: string) =>
    fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });

  test('a token with reports:read: 200, as its client', async () => {
    const token = await tokens.accessToken({ clientId: 'billing', scopes: ['reports:read'] });
    const res = await getReports(token);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      client: 'billing',
      scopes: ['reports:read'],
      reports: ['Q1', 'Q2'],
    });
  });

  test('no token: 401 with a Bearer challenge', async () => {
    const res = await getReports();
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="Service"');
  });

  test('a token without reports:read: 403 insufficient_scope', async () => {
    const res = await getReports(await tokens.flawedAccessToken('missing_scope'));
    assert.equal(res.status, 403);
    assert.match(res.headers.get('www-authenticate'), /insufficient_scope.*scope="reports:read"/);
  });

  test('an expired token: 401 invalid_token', async () => {
    const token = await tokens.flawedAccessToken('expired', { scopes: ['reports:read'] });
    const res = await getReports(token);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate'), /error="invalid_token"/);
  });
});
