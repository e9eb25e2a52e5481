import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { Injectable, type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import request from 'supertest';
import { ClientAuthThrottle } from '../src/client-auth/client-auth-throttle.js';
import {
  ClientSecretHasher,
  InMemoryOAuthClientRepository,
  OAuth2EventSink,
  OAuth2Module,
  OAuthClient,
  OAuthClientRepository,
  type OAuth2ModuleExtras,
  type OAuth2TokenIssuedEvent,
} from '../src/index.js';
import { testOptions } from './support/fixtures.js';
import { decodeJwt } from './support/jwt.js';
import { CapturingLogger } from './support/logger.js';
import { auditApp, RecordingEventSink } from './support/observability.js';
import { basicHeader, GRANT } from './support/oauth.js';

/** The internal token of the configured sink, which the module's services get guarded. */
const CONFIGURED_SINK = 'OAUTH2:EVENT_SINK';

/** A host app's listener, as its docs would write it. */
@Injectable()
class IssuedListener {
  static readonly received: OAuth2TokenIssuedEvent[] = [];

  @OnEvent('oauth2.token.issued')
  onIssued(event: OAuth2TokenIssuedEvent): void {
    IssuedListener.received.push(event);
  }
}

const oauth2 = (extras: Partial<OAuth2ModuleExtras> = {}) =>
  OAuth2Module.forRoot({
    ...testOptions(),
    ...extras,
    clientRepository: { useValue: new InMemoryOAuthClientRepository() },
  });

describe('the default sink in a host app', () => {
  let app: INestApplication | undefined;
  let logger: CapturingLogger;
  const secrets: string[] = [];

  afterEach(async () => {
    await app?.close();
    app = undefined;
    const logged = logger.everything().join('\n');
    for (const secret of secrets) expect(logged).not.toContain(secret);
  });

  async function start(
    imports: NonNullable<ModuleMetadata['imports']>,
    providers: NonNullable<ModuleMetadata['providers']> = [],
  ) {
    logger = new CapturingLogger();
    app = await auditApp({ imports, providers }, { logger });
    const hasher = app.get(ClientSecretHasher);
    const { secret, hash } = hasher.createSecret();
    secrets.push(secret, hash);
    await app
      .get(OAuthClientRepository)
      .save(OAuthClient.create({ clientId: 'svc', clientSecret: hash, scope: 'reports:read' }));
    return { app, authorization: basicHeader('svc', secret) };
  }
  async function tokenFrom(started: { app: INestApplication; authorization: string }) {
    const res = await request(started.app.getHttpServer())
      .post('/oauth2/token')
      .type('form')
      .set('Authorization', started.authorization)
      .send(GRANT);
    expect(res.status).toBe(200);
    secrets.push(res.body.access_token);
    return res.body.access_token as string;
  }
  // Seeding the client through the app's repository is itself audited (oauth2.client.*): not this suite's subject.
  const auditLines = () =>
    logger.lines.filter(
      (line) =>
        line.context === 'OAuth2Audit' && !String(line.fields?.event).startsWith('oauth2.client.'),
    );

  test("with EventEmitterModule: @OnEvent('oauth2.token.issued') gets each token, once", async () => {
    IssuedListener.received.length = 0;
    const started = await start([EventEmitterModule.forRoot(), oauth2()], [
      IssuedListener,
    ] as never);
    const access = await tokenFrom(started);
    expect(IssuedListener.received).toEqual([
      expect.objectContaining({
        type: 'oauth2.token.issued',
        clientId: 'svc',
        jti: decodeJwt(access).payload.jti,
        time: expect.any(String),
      }),
    ]);
    // And the log line, once.
    expect(auditLines()).toEqual([
      expect.objectContaining({ level: 'log', message: 'Token issued to client "svc"' }),
    ]);
  });

  test('a listener that throws: the token is still issued, the failure logged once per type', async () => {
    const started = await start([EventEmitterModule.forRoot(), oauth2()]);
    started.app.get(EventEmitter2).on('oauth2.token.issued', () => {
      throw new Error('listener down');
    });
    await tokenFrom(started);
    await tokenFrom(started);
    const failures = logger.lines.filter((line) => line.message.includes('A listener of'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ level: 'warn', context: 'OAuth2Audit' });
    expect(auditLines().filter((line) => line.level === 'log')).toHaveLength(2);
  });

  test('without EventEmitterModule: tokens are issued, each a log line', async () => {
    const started = await start([oauth2()]);
    await tokenFrom(started);
    expect(auditLines()).toEqual([
      expect.objectContaining({ level: 'log', message: 'Token issued to client "svc"' }),
    ]);
    expect(auditLines()[0].whole).toContain("event: 'oauth2.token.issued'");
  });

  test.each([
    ['a value', (sink: RecordingEventSink) => ({ useValue: sink })],
    ['a factory', (sink: RecordingEventSink) => ({ useFactory: () => sink })],
  ])(
    'the eventSink extra (%s) replaces the default: no log line, every event to it',
    async (_, given) => {
      const sink = new RecordingEventSink();
      const started = await start([
        EventEmitterModule.forRoot(),
        oauth2({ eventSink: given(sink) }),
      ]);
      // The module's services get it guarded (a throw never reaches a request), under the internal token as given.
      expect(started.app.get(CONFIGURED_SINK)).toBe(sink);
      await tokenFrom(started);
      expect(sink.of('oauth2.token.issued')).toHaveLength(1);
      expect(auditLines()).toEqual([]);
    },
  );

  test('the eventSink extra as a class', async () => {
    const started = await start([oauth2({ eventSink: RecordingEventSink })]);
    await tokenFrom(started);
    const sink = started.app.get<RecordingEventSink>(CONFIGURED_SINK);
    expect(sink).toBeInstanceOf(RecordingEventSink);
    expect(sink.of('oauth2.token.issued')).toHaveLength(1);
  });

  test('a sink that throws: tokens still issued, a wrong secret still a throttled 401, one warning', async () => {
    const throwing: OAuth2EventSink = {
      emit: () => {
        throw new Error('SIEM queue full');
      },
    };
    const started = await start([oauth2({ eventSink: { useValue: throwing } })]);
    await tokenFrom(started);
    await tokenFrom(started);
    const counted = jest.spyOn(started.app.get(ClientAuthThrottle), 'failed');
    const refused = await request(started.app.getHttpServer())
      .post('/oauth2/token')
      .type('form')
      .set('Authorization', basicHeader('svc', 'not-the-secret'))
      .send(GRANT);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({
      error: 'invalid_client',
      error_description: expect.any(String),
    });
    expect(counted).toHaveBeenCalledTimes(1);
    const warnings = logger.lines.filter(
      (line) => line.fields?.event === 'oauth2.events.sink_failed',
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0].whole).not.toContain('SIEM queue full');
  });
});
