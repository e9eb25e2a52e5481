import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createResourceExampleApp } from '../src/example/create-example-app.js';
import { ExampleConfigError } from '../src/example/example-config.js';
import { ResourceExampleConfig } from '../src/example/resource-example-config.js';
import { platforms } from './support/app.js';
import { AUDIENCE, useFakeIssuer, type FakeIssuer } from './support/fake-issuer.js';
import { CapturingLogger } from './support/logger.js';
import { rejectedAs } from './support/thrown.js';

describe.each(platforms)('the example resource server (npm run start:resource, %s)', (platform) => {
  const fakeIssuer = useFakeIssuer();
  let issuer: FakeIssuer;
  let app: INestApplication | undefined;

  beforeEach(() => {
    issuer = fakeIssuer();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(env: Record<string, string>): Promise<INestApplication> {
    app = await createResourceExampleApp(
      { PORT: '0', HTTP_PLATFORM: platform, ...env },
      { logger: new CapturingLogger() },
    );
    await app.listen(0, '127.0.0.1');
    return app;
  }
  const call = (path: string, token: string) =>
    request(app?.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`);

  test('the issuer’s token reaches /api/whoami and /api/reports', async () => {
    await start({ OAUTH2_ISSUER: issuer.issuer, OAUTH2_AUDIENCE: `other ${AUDIENCE}` });
    const token = await issuer.sign();
    const who = await call('/api/whoami', token);
    expect({ status: who.status, body: who.body }).toEqual({
      status: 200,
      body: { client_id: 'testclient', sub: 'testclient', scope: 'reports:read reports:write' },
    });
    const reports = await call('/api/reports', token);
    expect({ status: reports.status, body: reports.body }).toEqual({
      status: 200,
      body: { reports: [] },
    });
    expect(app?.get(ResourceExampleConfig).platform).toBe(platform);
  });

  test('the audience defaults to the issuer', async () => {
    await start({ OAUTH2_ISSUER: issuer.issuer });
    expect((await call('/api/whoami', await issuer.sign({ aud: issuer.issuer }))).status).toBe(200);
    expect((await call('/api/whoami', await issuer.sign())).status).toBe(401);
  });

  test('it starts without its issuer, and answers 503 until it has keys', async () => {
    const token = await issuer.sign({ aud: issuer.issuer });
    await issuer.close();
    await start({ OAUTH2_ISSUER: issuer.issuer });
    const res = await call('/api/whoami', token);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('30');
  });

  test('a bad variable stops the start with its name', async () => {
    const error = await rejectedAs(
      ExampleConfigError,
      createResourceExampleApp({ OAUTH2_ISSUER: 'nowhere' }),
    );
    expect(error.message).toMatch(/^OAUTH2_ISSUER: /);
  });
});
