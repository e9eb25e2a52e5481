import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Controller, HttpCode, Post, UseGuards, type INestApplication } from '@nestjs/common';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { randomUUID } from 'node:crypto';
import request, { type Response } from 'supertest';
import {
  ClientAuthGuard,
  ClientSecretHasher,
  InMemoryOAuthClientRepository,
  OAuth2Module,
  OAuth2Revocations,
  OAuthClient,
  OAuthClientRepository,
  type OAuth2AuthFailureReason,
  type OAuth2ClientAuthFailedEvent,
  type OAuth2ModuleOptions,
} from '../src/index.js';
import { platforms } from './support/app.js';
import { ISSUER, testOptions } from './support/fixtures.js';
import { decodeJwt } from './support/jwt.js';
import { CapturingLogger } from './support/logger.js';
import {
  auditApp,
  recordingInto,
  RecordingEventSink,
  RecordingMetrics,
} from './support/observability.js';
import { basicHeader, GRANT } from './support/oauth.js';

const TOKEN = '/oauth2/token';
const REVOKE = '/oauth2/revoke';
const INTROSPECT = '/oauth2/introspect';
const EXTRAS = { revocationPath: 'oauth2/revoke', introspectionPath: 'oauth2/introspect' };
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ADDRESS = '127.0.0.1';

/** A route of the host app's own behind ClientAuthGuard: its refusals are reported at endpoint `other`. */
@Controller()
class HostController {
  @Post('host/mine')
  @HttpCode(200)
  @UseGuards(ClientAuthGuard)
  mine(): { ok: true } {
    return { ok: true };
  }
}

const moduleOf = (options: Partial<OAuth2ModuleOptions> = {}, extras: object = EXTRAS) =>
  OAuth2Module.forRoot({
    ...testOptions({
      introspectionAccess: (client) => client.scope?.split(' ').includes('introspect') === true,
      ...options,
    }),
    ...extras,
    clientRepository: { useValue: new InMemoryOAuthClientRepository() },
  });

describe.each(platforms)('audit events and metrics on the request path (%s)', (platform) => {
  let app: INestApplication;
  const logger = new CapturingLogger();
  const sink = new RecordingEventSink();
  const metrics = new RecordingMetrics();
  /** Every secret, stored hash, assertion and token of the suite: none may be in an event or a log line. */
  const secrets: string[] = [];
  let generated: string;
  let expiredGenerated: string;
  const chosen = 'a chosen passphrase, long enough';
  const expiredChosen = 'an older chosen passphrase, expired';
  let pkKey: CryptoKey;
  let strangerKey: CryptoKey;

  beforeAll(async () => {
    app = await auditApp(
      { imports: [moduleOf()], controllers: [HostController] },
      {
        platform,
        logger,
        customize: recordingInto(sink, metrics),
      },
    );
    const hasher = app.get(ClientSecretHasher);
    const clients = app.get(OAuthClientRepository);
    generated = hasher.generate();
    expiredGenerated = hasher.generate();
    const past = new Date(Date.now() - 60_000);
    const save = async (clientId: string, secret: string | null, fields: Partial<OAuthClient>) => {
      const hash = secret === null ? null : hasher.digestGenerated(secret);
      if (hash) secrets.push(hash);
      await clients.save(
        OAuthClient.create({
          clientId,
          clientSecret: hash,
          grantTypes: 'client_credentials',
          scope: 'reports:read',
          ...fields,
        }),
      );
    };
    await save('svc', generated, {});
    const oldHash = hasher.digestGenerated(expiredGenerated);
    await clients.addSecret('svc', {
      id: 'old',
      hash: oldHash,
      createdAt: past,
      expiresAt: past,
      lastUsedAt: null,
    });
    const chosenHash = await hasher.hash(chosen);
    const expiredChosenHash = await hasher.hash(expiredChosen, { sameSaltAs: chosenHash });
    await clients.save(
      OAuthClient.create({ clientId: 'chosen', clientSecret: chosenHash, scope: 'reports:read' }),
    );
    await clients.addSecret('chosen', {
      id: 'before',
      hash: expiredChosenHash,
      createdAt: past,
      expiresAt: past,
      lastUsedAt: null,
    });
    await save('gateway', generated, { scope: 'introspect' });
    await save('off', generated, { disabled: true });
    await save('post-only', generated, { tokenEndpointAuthMethod: 'client_secret_post' });
    let pkPublic: CryptoKey;
    ({ privateKey: pkKey, publicKey: pkPublic } = await generateKeyPair('ES256', {
      extractable: true,
    }));
    ({ privateKey: strangerKey } = await generateKeyPair('ES256'));
    await save('pk', null, {
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: JSON.stringify({
        keys: [{ ...(await exportJWK(pkPublic)), kid: 'pk-1', alg: 'ES256' }],
      }),
    });
    secrets.push(generated, expiredGenerated, chosen, expiredChosen, chosenHash, expiredChosenHash);
  });
  afterAll(async () => {
    await app?.close();
  });
  afterAll(() => {
    // Nothing secret in any event or log line of the suite.
    const everything = [sink.text(), ...logger.everything()].join('\n');
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });

  const server = () => app.getHttpServer();
  const post = (path: string, body: string, authorization?: string) => {
    const req = request(server()).post(path).type('form');
    if (authorization) req.set('Authorization', authorization);
    return req.send(body);
  };
  const assertion = async (clientId: string, key: CryptoKey) => {
    const now = Math.floor(Date.now() / 1000);
    const signed = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'pk-1' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(ISSUER)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(key);
    secrets.push(signed);
    return signed;
  };
  const assertionForm = (signed: string) =>
    new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER,
      client_assertion: signed,
    }).toString();
  async function token(authorization = basicHeader('svc', generated)): Promise<string> {
    const res = await post(TOKEN, GRANT, authorization);
    expect(res.status).toBe(200);
    secrets.push(res.body.access_token);
    return res.body.access_token;
  }

  /** What a request caused: the events and metrics calls recorded while it ran. */
  async function observed(send: () => Promise<Response>) {
    const [events, calls] = [sink.events.length, metrics.calls.length];
    const res = await send();
    return {
      res,
      events: sink.events.slice(events),
      calls: metrics.calls.slice(calls).filter(([method]) => method !== 'kdfWait'),
    };
  }

  test('a token issued: one oauth2.token.issued event with its facts, one `issued` outcome', async () => {
    const { res, events, calls } = await observed(() =>
      post(TOKEN, GRANT, basicHeader('svc', generated)),
    );
    expect(res.status).toBe(200);
    secrets.push(res.body.access_token);
    const claims = decodeJwt(res.body.access_token).payload;
    expect(events).toEqual([
      {
        type: 'oauth2.token.issued',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        clientId: 'svc',
        scopes: ['reports:read'],
        audience: [ISSUER],
        jti: claims.jti,
        lifetime: res.body.expires_in,
        authMethod: 'client_secret_basic',
        remoteAddress: ADDRESS,
      },
    ]);
    expect(calls).toEqual([['tokenRequest', 'issued']]);
  });

  test('a private_key_jwt client: authMethod private_key_jwt in its token.issued event', async () => {
    const { res, events } = await observed(async () =>
      post(TOKEN, assertionForm(await assertion('pk', pkKey))),
    );
    expect(res.status).toBe(200);
    secrets.push(res.body.access_token);
    expect(events).toEqual([
      expect.objectContaining({ type: 'oauth2.token.issued', authMethod: 'private_key_jwt' }),
    ]);
  });

  const failures: Array<{
    name: string;
    reason: OAuth2AuthFailureReason;
    send: () => Promise<Response>;
    status: number;
    clientId: string | null;
    authMethod: string | null;
    outcome: 'invalid_client' | 'invalid_request';
  }> = [
    {
      name: 'an unknown client id',
      reason: 'unknown_client',
      send: () => post(TOKEN, GRANT, basicHeader('nobody', generated)),
      status: 401,
      clientId: 'nobody',
      authMethod: 'client_secret_basic',
      outcome: 'invalid_client',
    },
    {
      name: 'a wrong generated secret',
      reason: 'wrong_secret',
      send: () => post(TOKEN, GRANT, basicHeader('svc', 'not-the-secret')),
      status: 401,
      clientId: 'svc',
      authMethod: 'client_secret_basic',
      outcome: 'invalid_client',
    },
    {
      name: 'a wrong chosen secret',
      reason: 'wrong_secret',
      send: () => post(TOKEN, GRANT, basicHeader('chosen', 'not the chosen passphrase')),
      status: 401,
      clientId: 'chosen',
      authMethod: 'client_secret_basic',
      outcome: 'invalid_client',
    },
    {
      name: 'an expired generated secret',
      reason: 'expired_secret',
      send: () => post(TOKEN, GRANT, basicHeader('svc', expiredGenerated)),
      status: 401,
      clientId: 'svc',
      authMethod: 'client_secret_basic',
      outcome: 'invalid_client',
    },
    {
      name: 'an expired chosen secret (same salt as the live one)',
      reason: 'expired_secret',
      send: () => post(TOKEN, GRANT, basicHeader('chosen', expiredChosen)),
      status: 401,
      clientId: 'chosen',
      authMethod: 'client_secret_basic',
      outcome: 'invalid_client',
    },
    {
      name: 'a method the client is not registered for',
      reason: 'method_not_allowed',
      send: () => post(TOKEN, GRANT, basicHeader('post-only', generated)),
      status: 401,
      clientId: 'post-only',
      authMethod: 'client_secret_basic',
      outcome: 'invalid_client',
    },
    {
      name: 'the none method while public clients are off',
      reason: 'method_not_allowed',
      send: () => post(TOKEN, `${GRANT}&client_id=svc`),
      status: 401,
      clientId: 'svc',
      authMethod: 'none',
      outcome: 'invalid_client',
    },
    {
      name: 'a disabled client',
      reason: 'client_disabled',
      send: () => post(TOKEN, GRANT, basicHeader('off', generated)),
      status: 401,
      clientId: 'off',
      authMethod: 'client_secret_basic',
      outcome: 'invalid_client',
    },
    {
      name: 'an assertion signed with a key not the client’s',
      reason: 'assertion_invalid',
      send: async () => post(TOKEN, assertionForm(await assertion('pk', strangerKey))),
      status: 401,
      clientId: 'pk',
      authMethod: 'private_key_jwt',
      outcome: 'invalid_client',
    },
    {
      name: 'no credentials at all',
      reason: 'malformed_credentials',
      send: () => post(TOKEN, GRANT),
      status: 401,
      clientId: null,
      authMethod: null,
      outcome: 'invalid_client',
    },
    {
      name: 'Basic credentials that are not base64',
      reason: 'malformed_credentials',
      send: () => post(TOKEN, GRANT, 'Basic !!!'),
      status: 400,
      clientId: null,
      authMethod: 'client_secret_basic',
      outcome: 'invalid_request',
    },
    {
      name: 'another scheme than Basic',
      reason: 'malformed_credentials',
      send: () => post(TOKEN, GRANT, 'Bearer abc'),
      status: 401,
      clientId: null,
      authMethod: 'client_secret_basic',
      outcome: 'invalid_client',
    },
    {
      name: 'two methods at once (RFC 6749 §2.3)',
      reason: 'malformed_credentials',
      send: () =>
        post(TOKEN, `${GRANT}&client_id=svc&client_secret=x`, basicHeader('svc', generated)),
      status: 400,
      clientId: 'svc',
      authMethod: null,
      outcome: 'invalid_request',
    },
  ];

  test.each(failures)(
    '$name: one oauth2.client_auth.failed ($reason), one authFailure, one token-request outcome',
    async ({ send, reason, status, clientId, authMethod, outcome }) => {
      const { res, events, calls } = await observed(send);
      expect(res.status).toBe(status);
      expect(events).toEqual([
        {
          type: 'oauth2.client_auth.failed',
          time: expect.any(String),
          clientId,
          reason,
          authMethod,
          endpoint: 'token',
          remoteAddress: ADDRESS,
        },
      ]);
      expect(calls).toEqual([
        ['authFailure', reason],
        ['tokenRequest', outcome],
      ]);
      // The reason stays on our side: the answer is the same as for any other failure.
      expect(res.text).not.toContain(reason);
      expect(JSON.stringify(res.headers)).not.toContain(reason);
    },
  );

  test('a presented client id is cut to 80 characters, control characters escaped', async () => {
    const presented = `evil\u0007\n${'x'.repeat(200)}`;
    const { events } = await observed(() => post(TOKEN, GRANT, basicHeader(presented, 'wrong')));
    const [event] = events as OAuth2ClientAuthFailedEvent[];
    expect(event.clientId).toBe(`evil\\u0007\\u000a${'x'.repeat(74)}`);
    expect(event.reason).toBe('unknown_client');
  });

  test('refusals at the revocation, introspection and a host app’s own endpoint name them', async () => {
    const at = async (path: string) =>
      (await observed(() => post(path, 'token=x', basicHeader('svc', 'wrong')))).events;
    expect(await at(REVOKE)).toEqual([expect.objectContaining({ endpoint: 'revocation' })]);
    expect(await at(INTROSPECT)).toEqual([expect.objectContaining({ endpoint: 'introspection' })]);
    const host = await observed(() => post('/host/mine', '', basicHeader('svc', 'wrong')));
    expect(host.res.status).toBe(401);
    expect(host.events).toEqual([
      expect.objectContaining({ type: 'oauth2.client_auth.failed', endpoint: 'other' }),
    ]);
    // Only the token endpoint's requests are token requests.
    expect(host.calls).toEqual([['authFailure', 'wrong_secret']]);
  });

  test.each([
    ['invalid_scope', `${GRANT}&scope=admin`],
    ['unsupported_grant_type', 'grant_type=password'],
  ])('a refused grant (%s): its outcome once, no auth failure, no event', async (code, body) => {
    const { res, events, calls } = await observed(() =>
      post(TOKEN, body, basicHeader('svc', generated)),
    );
    expect(res.body.error).toBe(code);
    expect(events).toEqual([]);
    expect(calls).toEqual([['tokenRequest', code]]);
  });

  test('a body the platform refuses at the token endpoint is counted as invalid_request', async () => {
    const { res, calls } = await observed(() =>
      request(server()).post(TOKEN).set('Content-Type', 'application/json').send('{"broken'),
    );
    expect(res.status).toBe(400);
    expect(calls).toEqual([['tokenRequest', 'invalid_request']]);
  });

  test('revoking a token: one oauth2.token.revoked with its jti, the store timed', async () => {
    const access = await token();
    const { res, events, calls } = await observed(() =>
      post(REVOKE, `token=${access}`, basicHeader('svc', generated)),
    );
    expect(res.status).toBe(200);
    expect(events).toEqual([
      {
        type: 'oauth2.token.revoked',
        time: expect.any(String),
        clientId: 'svc',
        jti: decodeJwt(access).payload.jti,
        source: 'app',
      },
    ]);
    expect(calls).toEqual([['revocationStore', 'revoke', expect.any(Number), false]]);
  });

  test('revoking another client’s token revokes nothing: no event', async () => {
    const access = await token();
    const { res, events } = await observed(() =>
      post(REVOKE, `token=${access}`, basicHeader('gateway', generated)),
    );
    expect(res.status).toBe(200);
    expect(events).toEqual([]);
  });

  test('revoking every token of a client: jti null and notBefore', async () => {
    const before = Date.now();
    const { events, calls } = await observed(async () => {
      await app.get(OAuth2Revocations).revokeClientTokens('post-only');
      return { status: 200 } as Response;
    });
    expect(events).toEqual([
      {
        type: 'oauth2.token.revoked',
        time: expect.any(String),
        clientId: 'post-only',
        jti: null,
        notBefore: expect.any(String),
        source: 'app',
      },
    ]);
    const notBefore = Date.parse((events[0] as { notBefore: string }).notBefore);
    expect(notBefore).toBeGreaterThanOrEqual(before);
    expect(calls).toEqual([['revocationStore', 'revoke', expect.any(Number), false]]);
  });

  test('introspection: active names the token’s jti and client, inactive neither', async () => {
    const access = await token();
    const active = await observed(() =>
      post(INTROSPECT, `token=${access}`, basicHeader('gateway', generated)),
    );
    expect(active.res.body.active).toBe(true);
    expect(active.events).toEqual([
      {
        type: 'oauth2.token.introspected',
        time: expect.any(String),
        clientId: 'gateway',
        active: true,
        jti: decodeJwt(access).payload.jti,
        tokenClientId: 'svc',
        remoteAddress: ADDRESS,
      },
    ]);
    const inactive = await observed(() =>
      post(INTROSPECT, 'token=not-a-token', basicHeader('gateway', generated)),
    );
    expect(inactive.res.body).toEqual({ active: false });
    expect(inactive.events).toEqual([
      {
        type: 'oauth2.token.introspected',
        time: expect.any(String),
        clientId: 'gateway',
        active: false,
        remoteAddress: ADDRESS,
      },
    ]);
  });

  test('KDF: each derivation’s wait is recorded, and the load is observed once', async () => {
    const waits = metrics.of('kdfWait').length;
    const access = await token(basicHeader('chosen', chosen));
    expect(access).toBeTruthy();
    expect(metrics.of('kdfWait').length).toBeGreaterThan(waits);
    for (const [, ms] of metrics.of('kdfWait')) expect(ms).toBeGreaterThanOrEqual(0);
    expect(metrics.loads).toHaveLength(1);
    expect(metrics.loads[0]()).toEqual({ running: 0, waiting: 0 });
  });
});

describe('throttled client authentication', () => {
  test('the 429 is one oauth2.client_auth.failed (throttled) and a `throttled` outcome', async () => {
    const sink = new RecordingEventSink();
    const metrics = new RecordingMetrics();
    const app = await auditApp(
      {
        imports: [
          moduleOf({ clientAuthThrottle: { freeFailures: 0, maxFailures: 2, maxDelayMs: 1 } }),
        ],
      },
      {
        customize: recordingInto(sink, metrics),
      },
    );
    try {
      const wrong = () =>
        request(app.getHttpServer())
          .post(TOKEN)
          .type('form')
          .set('Authorization', basicHeader('victim', 'guess'))
          .send(GRANT);
      expect((await wrong()).status).toBe(401);
      expect((await wrong()).status).toBe(401);
      const res = await wrong();
      expect(res.status).toBe(429);
      expect(sink.of('oauth2.client_auth.failed').map((event) => event.reason)).toEqual([
        'unknown_client',
        'unknown_client',
        'throttled',
      ]);
      expect(metrics.of('authFailure').map(([, reason]) => reason)).toEqual([
        'unknown_client',
        'unknown_client',
        'throttled',
      ]);
      expect(metrics.of('tokenRequest').map(([, outcome]) => outcome)).toEqual([
        'invalid_client',
        'invalid_client',
        'throttled',
      ]);
    } finally {
      expect(metrics.loads).toHaveLength(1);
      await app.close();
    }
    // Closing the app disposed of the KDF load callback: the metrics no longer hold its SecretVerifier.
    expect(metrics.loads).toEqual([]);
  });
});
