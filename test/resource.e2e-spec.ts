import { beforeAll, describe, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createPublicKey, createSecretKey, generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import { seedClients } from './support/app.js';
import { tokenClaims } from './support/fixtures.js';
import { appCases, useApp } from './support/matrix.js';
import { decodeJwt, rfc7638Thumbprint, signRaw, unsignedJwt } from './support/jwt.js';
import { es256, otherEs256, pem } from './support/keys.js';
import { basicHeader, CLIENTS, tokenRequest } from './support/oauth.js';
import { OAuth2TestTokens, type OAuth2TestTokenOptions } from '../src/testing/index.js';

const CHALLENGE = 'Bearer realm="Service"';
/** The kid of the fixtures' signing key: its RFC 7638 thumbprint. */
const OUR_KID = rfc7638Thumbprint(createPublicKey(es256.privateKey));

const expectInvalidToken = (res: request.Response) => {
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toMatch(
    /^Bearer realm="Service", error="invalid_token", error_description="[^"]+"$/,
  );
  expect(res.body.error).toBe('invalid_token');
};

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const HMAC_SECRET = 'a-32-byte-long-shared-secret-key!';

describe.each(appCases)('bearer guard ($name)', (appCase) => {
  const getApp = useApp(appCase);
  let app: INestApplication;
  let token: string;
  let readOnlyToken: string;
  let tokens: OAuth2TestTokens;
  /** testclient's token as the endpoint issues it, from the testing kit. */
  const TESTCLIENT: OAuth2TestTokenOptions = {
    clientId: 'testclient',
    scopes: ['reports:read', 'reports:write'],
  };

  const get = (path: string) => request(app.getHttpServer()).get(path);
  const withToken = (value: string, path = '/api/whoami') =>
    get(path).set('Authorization', `Bearer ${value}`);

  beforeAll(async () => {
    app = getApp();
    await seedClients(app, [CLIENTS.test]);
    const res = await tokenRequest(app)
      .set('Authorization', basicHeader('testclient', 'testpass'))
      .send('grant_type=client_credentials');
    token = res.body.access_token;
    const narrow = await tokenRequest(app)
      .set('Authorization', basicHeader('testclient', 'testpass'))
      .send('grant_type=client_credentials&scope=reports:read');
    readOnlyToken = narrow.body.access_token;
    tokens = OAuth2TestTokens.from(app);
  });

  test('a valid token reaches the route, with the principal', async () => {
    const res = await withToken(token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      client_id: 'testclient',
      sub: 'testclient',
      scope: 'reports:read reports:write',
    });
  });

  test('several spaces may separate scheme and token (RFC 6750 §2.1: 1*SP)', async () => {
    const res = await get('/api/whoami').set('Authorization', `Bearer   ${token}`);
    expect(res.status).toBe(200);
  });

  test('the Bearer scheme name is case-insensitive', async () => {
    for (const scheme of ['bearer', 'BEARER']) {
      const res = await get('/api/whoami').set('Authorization', `${scheme} ${token}`);
      expect(res.status).toBe(200);
    }
  });

  test('no token: 401 with a bare challenge, no error attribute (RFC 6750 §3.1)', async () => {
    const res = await get('/api/whoami');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(CHALLENGE);
    // The host app renders the body; it holds no error information.
    expect(res.body).toEqual({});
  });

  test('another scheme counts as no token', async () => {
    const res = await get('/api/whoami').set(
      'Authorization',
      basicHeader('testclient', 'testpass'),
    );
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(CHALLENGE);
  });

  test('a token in the query string is never honoured (RFC 6750 §2.3, RFC 9700 §4.3.2)', async () => {
    const res = await get(`/api/whoami?access_token=${token}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(CHALLENGE);
  });

  test('RFC 6750 §2: a query-string token beside a header token is two methods, a 400 invalid_request', async () => {
    const res = await get(`/api/whoami?access_token=${token}`).set(
      'Authorization',
      `Bearer ${token}`,
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.error_description).toBe('The access token was sent by more than one method');
    expect(res.headers['www-authenticate']).toMatch(
      /^Bearer realm="Service", error="invalid_request"/,
    );
    // Another query parameter beside the header is fine.
    expect((await get('/api/whoami?page=2').set('Authorization', `Bearer ${token}`)).status).toBe(
      200,
    );
  });

  test('a form-body token is ignored unless enabled', async () => {
    const res = await request(app.getHttpServer())
      .post('/api/reports')
      .type('form')
      .send(`access_token=${token}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(CHALLENGE);
  });

  test.each([
    ['no credentials', 'Bearer'],
    ['two tokens', `Bearer ${'a'.repeat(10)} ${'b'.repeat(10)}`],
    ['characters outside b64token', 'Bearer abc,def'],
    ['an empty header', ''],
  ])('a malformed header (%s) is a 400 invalid_request', async (_name, header) => {
    const res = await get('/api/whoami').set('Authorization', header);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.headers['www-authenticate']).toMatch(
      /^Bearer realm="Service", error="invalid_request"/,
    );
  });

  describe('invalid tokens are a 401 invalid_token', () => {
    test('signed by another key', async () => {
      expectInvalidToken(
        await withToken(await tokens.flawedAccessToken('unknown_key', TESTCLIENT)),
      );
    });

    test("signed by another key under our key's kid", async () => {
      const forged = await tokens.flawedAccessToken('bad_signature', TESTCLIENT);
      expect(decodeJwt(forged).header.kid).toBe(OUR_KID);
      expectInvalidToken(await withToken(forged));
    });

    test('an unknown kid with our key is refused: only the kid chooses the key', async () => {
      expectInvalidToken(
        await withToken(
          signRaw({ typ: 'at+jwt', kid: 'unknown' }, tokenClaims(), es256.privateKey),
        ),
      );
    });

    test('a tampered payload', async () => {
      const [header, , signature] = token.split('.');
      const payload = Buffer.from(JSON.stringify(tokenClaims({ scope: 'admin' }))).toString(
        'base64url',
      );
      expectInvalidToken(await withToken(`${header}.${payload}.${signature}`));
    });

    test('expired', async () => {
      const res = await withToken(await tokens.flawedAccessToken('expired', TESTCLIENT));
      expectInvalidToken(res);
      expect(res.body.error_description).toMatch(/expired/);
    });

    test('alg none', async () => {
      expectInvalidToken(await withToken(unsignedJwt(tokenClaims())));
    });

    test('HS256 keyed with our public key (algorithm confusion)', async () => {
      const hmacKey = createSecretKey(Buffer.from(pem(createPublicKey(es256.privateKey))));
      expectInvalidToken(
        await withToken(signRaw({ typ: 'at+jwt', kid: OUR_KID }, tokenClaims(), hmacKey, 'HS256')),
      );
    });

    test('another algorithm with the right key family (ES384)', async () => {
      const { generateKeyPairSync } = await import('node:crypto');
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      expectInvalidToken(
        await withToken(
          signRaw({ typ: 'at+jwt', kid: OUR_KID }, tokenClaims(), p384.privateKey, 'ES384'),
        ),
      );
    });

    test('a key offered in the header is not used', async () => {
      const jwk = createPublicKey(otherEs256.privateKey).export({ format: 'jwk' });
      expectInvalidToken(
        await withToken(
          signRaw({ typ: 'at+jwt', jwk, kid: OUR_KID }, tokenClaims(), otherEs256.privateKey),
        ),
      );
    });

    test('wrong issuer', async () => {
      expectInvalidToken(
        await withToken(await tokens.flawedAccessToken('wrong_issuer', TESTCLIENT)),
      );
    });

    test('wrong audience', async () => {
      expectInvalidToken(
        await withToken(await tokens.flawedAccessToken('wrong_audience', TESTCLIENT)),
      );
    });

    test('typ other than at+jwt (an ID token or plain JWT)', async () => {
      expectInvalidToken(await withToken(signRaw({ typ: 'JWT' }, tokenClaims(), es256.privateKey)));
      expectInvalidToken(await withToken(signRaw({}, tokenClaims(), es256.privateKey)));
    });

    test('typ application/at+jwt is accepted (RFC 9068 §4)', async () => {
      const res = await withToken(
        signRaw({ typ: 'application/AT+JWT' }, tokenClaims(), es256.privateKey),
      );
      expect(res.status).toBe(200);
    });

    test('without exp or client_id', async () => {
      // A claim given as undefined is left out of the token.
      for (const claims of [{ exp: undefined }, { client_id: undefined }]) {
        const made = await tokens.accessToken({ ...TESTCLIENT, claims });
        expect(Object.keys(decodeJwt(made).payload)).not.toContain(Object.keys(claims)[0]);
        expectInvalidToken(await withToken(made));
      }
    });

    test('garbage', async () => {
      expectInvalidToken(await withToken('abc.def.ghi'));
      expectInvalidToken(await withToken('abc'));
    });
  });

  describe('scopes', () => {
    test('a token with the required scope passes', async () => {
      const res = await withToken(readOnlyToken, '/api/reports');
      expect(res.status).toBe(200);
      expect(res.body.client_id).toBe('testclient');
    });

    test('a missing scope is a 403 insufficient_scope naming the required scope', async () => {
      const res = await request(app.getHttpServer())
        .post('/api/reports')
        .set('Authorization', `Bearer ${readOnlyToken}`);
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('insufficient_scope');
      expect(res.headers['www-authenticate']).toMatch(
        /^Bearer realm="Service", error="insufficient_scope", error_description="[^"]+", scope="reports:write"$/,
      );
    });

    test('the full token reaches the write route', async () => {
      const res = await request(app.getHttpServer())
        .post('/api/reports')
        .set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(201);
    });
  });

  describe('scopes on the controller and on the route are merged', () => {
    /** The scope attribute of an insufficient_scope challenge, as a sorted list (its order means nothing). */
    const challengedScopes = (res: request.Response): string[] => {
      const match =
        /^Bearer realm="Service", error="insufficient_scope", error_description="[^"]+", scope="([^"]*)"$/.exec(
          res.headers['www-authenticate'] ?? '',
        );
      return match ? match[1].split(' ').sort() : [];
    };
    const archive = (value: string) =>
      request(app.getHttpServer()).post('/api/archive').set('Authorization', `Bearer ${value}`);
    let writeOnlyToken: string;

    beforeAll(async () => {
      const res = await tokenRequest(app)
        .set('Authorization', basicHeader('testclient', 'testpass'))
        .send('grant_type=client_credentials&scope=reports:write');
      expect(res.body.scope).toBe('reports:write');
      writeOnlyToken = res.body.access_token;
    });

    test.each([
      ['the controller scope only', () => readOnlyToken],
      ['the route scope only', () => writeOnlyToken],
    ])('a token with %s: 403 insufficient_scope naming both scopes', async (_name, tokenOf) => {
      const res = await archive(tokenOf());
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('insufficient_scope');
      expect(challengedScopes(res)).toEqual(['reports:read', 'reports:write']);
    });

    test('a token with both reaches the route', async () => {
      const res = await archive(token);
      expect({ status: res.status, body: res.body }).toEqual({
        status: 201,
        body: { archived: true },
      });
    });

    test('a route without scopes of its own needs the controller scope', async () => {
      const res = await withToken(writeOnlyToken, '/api/archive');
      expect(res.status).toBe(403);
      expect(challengedScopes(res)).toEqual(['reports:read']);
      expect((await withToken(readOnlyToken, '/api/archive')).status).toBe(200);
    });
  });
});

/**
 * The guard verifies with the configured algorithm only (RFC 8725 §3.1): a token signed with the same key, or
 * the same secret, under another algorithm of its family is refused, not just one from another family.
 */
describe.each(
  appCases
    .filter((appCase) => appCase.fixture.name === 'custom repository')
    .flatMap((appCase) => [
      {
        ...appCase,
        algorithm: 'RS256' as const,
        signing: { algorithm: 'RS256' as const, privateKey: rsa.privateKey },
        key: rsa.privateKey,
        otherKey: otherRsa.privateKey,
        sameKeyOtherAlgorithms: ['PS256', 'RS512'] as const,
      },
      {
        ...appCase,
        algorithm: 'HS256' as const,
        signing: { algorithm: 'HS256' as const, secret: HMAC_SECRET },
        key: createSecretKey(Buffer.from(HMAC_SECRET)),
        otherKey: createSecretKey(Buffer.from(`another ${HMAC_SECRET}`)),
        sameKeyOtherAlgorithms: ['HS512'] as const,
      },
    ])
    .map((algorithmCase) => ({
      ...algorithmCase,
      name: `${algorithmCase.algorithm}, ${algorithmCase.name}`,
    })),
)('algorithm allow-list ($name)', (algorithmCase) => {
  const getApp = useApp(algorithmCase, { signing: algorithmCase.signing });
  const withToken = (value: string) =>
    request(getApp().getHttpServer()).get('/api/whoami').set('Authorization', `Bearer ${value}`);

  test(`${algorithmCase.algorithm} with the configured key is accepted`, async () => {
    const res = await withToken(
      signRaw({ typ: 'at+jwt' }, tokenClaims(), algorithmCase.key, algorithmCase.algorithm),
    );
    expect(res.status).toBe(200);
    expect(res.body.client_id).toBe('testclient');
  });

  test.each(algorithmCase.sameKeyOtherAlgorithms)(
    'the same key under %s is a 401 invalid_token',
    async (algorithm) => {
      const res = await withToken(
        signRaw({ typ: 'at+jwt' }, tokenClaims(), algorithmCase.key, algorithm),
      );
      expectInvalidToken(res);
    },
  );

  test(`${algorithmCase.algorithm} with another key is a 401 invalid_token`, async () => {
    expectInvalidToken(
      await withToken(
        signRaw({ typ: 'at+jwt' }, tokenClaims(), algorithmCase.otherKey, algorithmCase.algorithm),
      ),
    );
  });
});
