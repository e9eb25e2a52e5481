import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { basic, seedClients, startApp } from './support/app.js';
import { fixtures, testOptions } from './support/fixtures.js';

describe.each(fixtures)('smoke ($name)', (fixture) => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await startApp(fixture.metadata(testOptions()));
    await seedClients(app, [{ clientId: 'testclient', secret: 'testpass', scope: 'reports:read' }]);
  });
  afterAll(() => app.close());

  test('token', async () => {
    const res = await request(app.getHttpServer())
      .post('/oauth2/token')
      .set('Authorization', basic('testclient', 'testpass'))
      .type('form')
      .send({ grant_type: 'client_credentials' });
    expect(res.status).toBe(200);
    const who = await request(app.getHttpServer())
      .get('/api/whoami')
      .set('Authorization', `Bearer ${res.body.access_token}`);
    expect(who.body).toEqual({ client_id: 'testclient', sub: 'testclient', scope: 'reports:read' });
  });
});
