import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { OAuthClient } from '../clients/oauth-client.entity.js';
import { InMemoryOAuthClientRepository } from '../clients/in-memory-client.repository.js';
import { OAuthClientRepository } from '../clients/oauth-client.repository.js';
import { OAuth2Error } from '../errors/oauth2-error.js';
import type { FetchFunction } from '../keys/bounded-fetch.js';
import {
  ClientAssertionVerifier,
  JWT_BEARER_ASSERTION_TYPE,
  replayKey,
  type ClientAssertionParameters,
} from './client-assertion.verifier.js';
import { ClientKeySets } from './client-key-sets.js';
import { InMemoryOAuth2ReplayStore } from './in-memory-replay.store.js';
import { rejectedAs } from '../../test/support/thrown.js';

const ISSUER = 'https://auth.example.com';
const TOKEN_ENDPOINT = `${ISSUER}/oauth2/token`;
const JWKS_URI = 'https://client.example/jwks.json';
const ec = (kid: string) => ({ kid, ...generateKeyPairSync('ec', { namedCurve: 'P-256' }) });
const rsa = (kid: string) => ({ kid, ...generateKeyPairSync('rsa', { modulusLength: 2048 }) });
type Pair = ReturnType<typeof ec>;
const K1 = ec('k1');
const K2 = ec('k2');
const OTHER = ec('other-1');
const RSA = rsa('r1');
const jwk = ({ kid, publicKey }: Pair) => ({ ...publicKey.export({ format: 'jwk' }), kid });
const jwks = (...pairs: Pair[]) => JSON.stringify({ keys: pairs.map(jwk) });

const client = (clientId: string, fields: Partial<OAuthClient> = {}) =>
  OAuthClient.create({ clientId, tokenEndpointAuthMethod: 'private_key_jwt', ...fields });

let now: number;
let sequence = 0;
let warnings: string[];
let fetched: string[];
let jwksAnswer: unknown;

/** How long a jwks_uri fetch takes, on the mocked clock. */
let fetchAdvancesClockMs = 0;

/** A fresh verifier over these clients: `svc` (K1, K2, RSA inline), `other` (OTHER), `remote` (jwks_uri). */
function setup(clients: OAuthClient[] = []) {
  const repository = new InMemoryOAuthClientRepository([
    client('svc', { jwks: jwks(K1, K2, RSA) }),
    client('other', { jwks: jwks(OTHER) }),
    client('remote', { jwksUri: JWKS_URI }),
    ...clients,
  ]);
  const fetchFn = jest.fn<FetchFunction>(async (url) => {
    fetched.push(url);
    now += fetchAdvancesClockMs;
    if (jwksAnswer === 'down')
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    return new Response(JSON.stringify(jwksAnswer), {
      headers: { 'content-type': 'application/json' },
    });
  });
  const keySets = new ClientKeySets(fetchFn, { warn: (message) => warnings.push(message) });
  const replays = new InMemoryOAuth2ReplayStore();
  const verifier = new ClientAssertionVerifier(
    {
      audiences: [ISSUER, TOKEN_ENDPOINT],
      clockTolerance: 5,
      maxAssertionLifetime: 3600,
      storageTimeoutMs: 1000,
    },
    repository,
    keySets,
    replays,
  );
  return { verifier, replays };
}

beforeEach(() => {
  fetchAdvancesClockMs = 0;
  now = 1_700_000_000_000;
  jest.spyOn(Date, 'now').mockImplementation(() => now);
  warnings = [];
  fetched = [];
  jwksAnswer = { keys: [jwk(K1)] };
});
afterEach(() => {
  jest.restoreAllMocks();
});

const seconds = () => Math.floor(now / 1000);

/** An assertion of `sub` signed by `pair`, with RFC 7523's claims; `claims` overrides or (undefined) removes. */
async function assertion(
  sub = 'svc',
  { key = K1 as Pair, alg = 'ES256', header = {}, claims = {} as JWTPayload } = {},
): Promise<string> {
  const payload: JWTPayload = {
    iss: sub,
    sub,
    aud: ISSUER,
    exp: seconds() + 60,
    iat: seconds(),
    jti: `jti-${++sequence}`,
    ...claims,
  };
  for (const [name, value] of Object.entries(payload))
    if (value === undefined) delete payload[name];
  return new SignJWT(payload)
    .setProtectedHeader({ alg, kid: key.kid, ...header })
    .sign(key.privateKey as KeyObject);
}

const params = (clientAssertion: string, extra: Partial<ClientAssertionParameters> = {}) => ({
  clientAssertionType: JWT_BEARER_ASSERTION_TYPE,
  clientAssertion,
  clientId: undefined,
  ...extra,
});

async function expectRefused(
  verifier: ClientAssertionVerifier,
  parameters: ClientAssertionParameters,
): Promise<void> {
  const error = await rejectedAs(OAuth2Error, verifier.authenticate(parameters));
  expect([error.getStatus(), error.body]).toEqual([
    401,
    { error: 'invalid_client', error_description: 'Client authentication failed' },
  ]);
}

describe('ClientAssertionVerifier: success', () => {
  test('RFC 7523 §3: a signed assertion of the client authenticates it', async () => {
    const { verifier } = setup();
    const found = await verifier.authenticate(params(await assertion()));
    expect(found.clientId).toBe('svc');
  });

  test('a body client_id equal to sub is accepted (RFC 7521 §4.2)', async () => {
    const { verifier } = setup();
    const found = await verifier.authenticate(params(await assertion(), { clientId: 'svc' }));
    expect(found.clientId).toBe('svc');
  });

  test('aud may be the token endpoint URL, or a list holding one of ours', async () => {
    const { verifier } = setup();
    await verifier.authenticate(
      params(await assertion('svc', { claims: { aud: TOKEN_ENDPOINT } })),
    );
    const list = await assertion('svc', { claims: { aud: ['https://x.example', ISSUER] } });
    await expect(verifier.authenticate(params(list))).resolves.toBeInstanceOf(OAuthClient);
  });

  test('RS256 and PS256 with the client’s RSA key', async () => {
    const { verifier } = setup();
    for (const alg of ['RS256', 'PS256']) {
      const signed = await assertion('svc', { key: RSA, alg });
      await expect(verifier.authenticate(params(signed))).resolves.toBeInstanceOf(OAuthClient);
    }
  });

  test('without kid, every key fitting the alg is tried (authlib sends none)', async () => {
    const { verifier } = setup();
    // K2 is the second of two ES256 keys.
    const signed = await assertion('svc', { key: K2, header: { kid: undefined } });
    await expect(verifier.authenticate(params(signed))).resolves.toBeInstanceOf(OAuthClient);
  });

  test('exp exactly maxAssertionLifetime + clockTolerance ahead; iat within the tolerance', async () => {
    const { verifier } = setup();
    const signed = await assertion('svc', {
      claims: { exp: seconds() + 3605, iat: seconds() + 5, nbf: seconds() + 5 },
    });
    await expect(verifier.authenticate(params(signed))).resolves.toBeInstanceOf(OAuthClient);
  });

  test('jwks_uri: fetched once, then cached', async () => {
    const { verifier } = setup();
    await verifier.authenticate(params(await assertion('remote')));
    await verifier.authenticate(params(await assertion('remote')));
    expect(fetched).toEqual([JWKS_URI]);
  });

  test('http jwks_uri on a loopback host, for development', async () => {
    const { verifier } = setup([client('dev', { jwksUri: 'http://127.0.0.1:9/jwks' })]);
    await verifier.authenticate(params(await assertion('dev')));
    expect(fetched).toEqual(['http://127.0.0.1:9/jwks']);
  });
});

describe('ClientAssertionVerifier: every refusal is the same 401 invalid_client', () => {
  test.each<[string, Partial<ClientAssertionParameters>]>([
    [
      'another assertion type',
      { clientAssertionType: 'urn:ietf:params:oauth:grant-type:saml2-bearer' },
    ],
    ['no assertion type', { clientAssertionType: undefined }],
    ['no assertion', { clientAssertion: undefined }],
    ['not a compact JWS', { clientAssertion: 'a.b' }],
    [
      'an unsecured JWS (alg none, empty signature)',
      { clientAssertion: 'eyJhbGciOiJub25lIn0.e30.' },
    ],
    ['a body client_id that is not sub', { clientId: 'other' }],
  ])('%s', async (_name, override) => {
    const { verifier } = setup();
    await expectRefused(verifier, { ...params(await assertion()), ...override });
  });

  test('an assertion over 8 KiB, unread', async () => {
    const { verifier } = setup();
    const signed = await assertion('svc', { claims: { pad: 'x'.repeat(8 * 1024) } });
    await expectRefused(verifier, params(signed));
  });

  test.each<[string, JWTPayload]>([
    ['iss ≠ sub', { iss: 'other' }],
    ['no sub', { sub: undefined }],
    ['no exp', { exp: undefined }],
    ['no jti', { jti: undefined }],
    ['an empty jti', { jti: '' }],
    ['another aud', { aud: 'https://elsewhere.example' }],
    ['an aud naming the issuer with a trailing slash', { aud: `${ISSUER}/` }],
    ['exp beyond maxAssertionLifetime + clockTolerance', { exp: 1_700_000_000 + 3606 }],
    ['expired', { exp: 1_700_000_000 - 6 }],
    ['iat in the future beyond the tolerance', { iat: 1_700_000_000 + 6 }],
    ['nbf in the future beyond the tolerance', { nbf: 1_700_000_000 + 6 }],
    ['a sub that cannot be a client id', { sub: 'x'.repeat(81), iss: 'x'.repeat(81) }],
  ])('%s', async (_name, claims) => {
    const { verifier } = setup();
    await expectRefused(verifier, params(await assertion('svc', { claims })));
  });

  test('an unknown client', async () => {
    const { verifier } = setup();
    await expectRefused(verifier, params(await assertion('nobody')));
  });

  test('a client of another method (the guard refuses it too)', async () => {
    const { verifier } = setup([
      client('secret-client', { tokenEndpointAuthMethod: null, jwks: jwks(K1) }),
    ]);
    await expectRefused(verifier, params(await assertion('secret-client')));
  });

  test('HS256 with a secret, whatever the secret', async () => {
    const { verifier } = setup([
      client('hmac', {
        jwks: JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0' }] }),
      }),
    ]);
    const signed = await new SignJWT({
      iss: 'hmac',
      sub: 'hmac',
      aud: ISSUER,
      exp: seconds() + 60,
      jti: 'j',
    })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(Buffer.from('secretsecretsecretsecret'));
    await expectRefused(verifier, params(signed));
  });

  test('an unknown kid, and the key of another client', async () => {
    const { verifier } = setup();
    await expectRefused(verifier, params(await assertion('svc', { header: { kid: 'nope' } })));
    await expectRefused(verifier, params(await assertion('svc', { key: OTHER })));
    // The other client's kid, with its key: still not one of svc's.
    await expectRefused(
      verifier,
      params(await assertion('svc', { key: OTHER, header: { kid: 'k1' } })),
    );
  });

  test('RFC 7523 §3 item 7: a replayed assertion', async () => {
    const { verifier } = setup();
    const signed = await assertion();
    await verifier.authenticate(params(signed));
    await expectRefused(verifier, params(signed));
  });

  test('a jti is claimed only once its assertion verified, and per client', async () => {
    const { verifier, replays } = setup();
    const forged = await assertion('svc', {
      key: OTHER,
      header: { kid: 'k1' },
      claims: { jti: 'same' },
    });
    await expectRefused(verifier, params(forged));
    await verifier.authenticate(params(await assertion('svc', { claims: { jti: 'same' } })));
    await verifier.authenticate(
      params(await assertion('other', { key: OTHER, claims: { jti: 'same' } })),
    );
    expect(replays.size).toBe(2);
  });

  test('an assertion that expired while its keys were fetched is refused, not recorded as lapsed', async () => {
    const { verifier, replays } = setup();
    const signed = await assertion('remote', { claims: { exp: seconds() + 1 } });
    // The jwks_uri answers 7 s later: past exp + clockTolerance (5 s).
    fetchAdvancesClockMs = 7000;
    await expectRefused(verifier, params(signed));
    expect(replays.size).toBe(0);
  });

  test('a fractional exp is held until the whole second jose still accepts it in', async () => {
    const { verifier, replays } = setup();
    const claim = jest.spyOn(replays, 'claim');
    const exp = seconds() + 10.2;
    await verifier.authenticate(params(await assertion('svc', { claims: { exp } })));
    expect(claim.mock.calls[0][1].getTime()).toBe((Math.ceil(exp) + 5) * 1000);
  });

  test('a replay store that fails is a 503, not a 500', async () => {
    const { verifier, replays } = setup();
    jest.spyOn(replays, 'claim').mockRejectedValueOnce(new Error('ECONNREFUSED'));
    const error = await rejectedAs(OAuth2Error, verifier.authenticate(params(await assertion())));
    expect([error.getStatus(), error.extras.retryAfter]).toEqual([503, 5]);
  });

  test('the replay key keeps client id and jti apart', () => {
    expect(replayKey('ab', 'c')).not.toBe(replayKey('a', 'bc'));
    expect(replayKey('a', 'b')).toMatch(/^[\w-]{43}$/);
  });

  test('a jwks_uri that cannot be reached: 401, not 503, and a warning without the assertion', async () => {
    jwksAnswer = 'down';
    const { verifier } = setup();
    const signed = await assertion('remote');
    await expectRefused(verifier, params(signed));
    expect(warnings).toEqual([
      `Cannot fetch the keys of a private_key_jwt client: ${JWKS_URI} unreachable (ECONNREFUSED); ` +
        'its assertions are refused (401 invalid_client) until the keys can be fetched (next attempt in 30 s at the earliest)',
    ]);
    expect(warnings.join()).not.toContain(signed);
  });

  test.each([
    ['http on another host', 'http://client.example/jwks'],
    ['user info', 'https://user:pass@client.example/jwks'],
    ['not a URL', 'jwks.json'],
  ])('a jwks_uri with %s is never fetched', async (_name, jwksUri) => {
    const { verifier } = setup([client('bad-uri', { jwksUri })]);
    await expectRefused(verifier, params(await assertion('bad-uri')));
    expect(fetched).toEqual([]);
    expect(warnings).toEqual([
      'Client "bad-uri": its jwks_uri is not an https URL (http is for loopback hosts only); its assertions are refused',
    ]);
  });

  test('an inline jwks with a private key is refused whole, the key never logged', async () => {
    const leaked = { ...K1.privateKey.export({ format: 'jwk' }), kid: 'k1' };
    const { verifier } = setup([client('leaky', { jwks: JSON.stringify({ keys: [leaked] }) })]);
    await expectRefused(verifier, params(await assertion('leaky')));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('private key material');
    expect(warnings[0]).not.toContain(String(leaked.d));
  });

  test.each([
    ['both jwks and jwks_uri', { jwks: jwks(K1), jwksUri: JWKS_URI }, 'has both jwks and jwks_uri'],
    ['neither', {}, 'has neither jwks nor jwks_uri'],
    ['a jwks that is not JSON', { jwks: '{' }, 'its jwks is not JSON'],
  ])('a client with %s: refused, warned once', async (_name, fields, problem) => {
    const { verifier } = setup([client('odd', fields)]);
    await expectRefused(verifier, params(await assertion('odd')));
    await expectRefused(verifier, params(await assertion('odd')));
    expect(warnings).toEqual([expect.stringContaining(problem)]);
  });
});

describe('ClientAssertionVerifier: storage', () => {
  test('a failing client lookup is a 503 with Retry-After, as for the other methods', async () => {
    class Failing extends InMemoryOAuthClientRepository {
      override async findById(): Promise<OAuthClient | null> {
        throw new Error('connection lost to db.internal:5432');
      }
    }
    const verifier = new ClientAssertionVerifier(
      { audiences: [ISSUER], clockTolerance: 0, maxAssertionLifetime: 60, storageTimeoutMs: 100 },
      new Failing() as OAuthClientRepository,
      new ClientKeySets(),
      new InMemoryOAuth2ReplayStore(),
    );
    const error = await rejectedAs(OAuth2Error, verifier.authenticate(params(await assertion())));
    expect([error.getStatus(), error.error, error.extras.retryAfter]).toEqual([
      503,
      'server_error',
      5,
    ]);
  });
});
