import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { generateKeyPairSync, KeyObject, type JsonWebKey } from 'node:crypto';
import { errors, type CompactJWSHeaderParameters } from 'jose';
import type { FetchFunction } from './bounded-fetch.js';
import { JwksCache, JwksUnavailableError, type JwksCacheSettings } from './jwks-cache.js';
import { rejectedAs } from '../../test/support/thrown.js';

const ISSUER = 'https://auth.example.com';
const METADATA_URL = `${ISSUER}/.well-known/oauth-authorization-server`;
const JWKS_URL = `${ISSUER}/oauth2/jwks`;
const TOKEN = { payload: '', signature: '' };

const jwk = (kid: string): JsonWebKey => ({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
  kid,
});
const K1 = jwk('k1');
const K2 = jwk('k2');
const header = (kid?: string): CompactJWSHeaderParameters =>
  kid === undefined ? { alg: 'ES256' } : { alg: 'ES256', kid };

type Answer = { body: unknown; cacheControl?: string } | 'down';

interface Setup {
  cache: JwksCache;
  /** The URLs fetched, in order. */
  fetched: () => string[];
  /** What the JWKS URL answers from now on. */
  jwks: (answer: Answer) => void;
  metadata: (answer: Answer) => void;
  warn: jest.Mock<(message: string) => void>;
  error: jest.Mock<(message: string) => void>;
}

let now: number;
beforeEach(() => {
  now = 1_700_000_000_000;
  jest.spyOn(Date, 'now').mockImplementation(() => now);
});
afterEach(() => {
  jest.restoreAllMocks();
});
const advance = (seconds: number) => {
  now += seconds * 1000;
};

/** A resource server's settings: the issuer's keys, found through its metadata unless `jwksUri` is given. */
function settingsOf(options: Partial<JwksCacheSettings>): JwksCacheSettings {
  return {
    issuer: ISSUER,
    jwksUri: undefined,
    metadataUrl: options.jwksUri === undefined ? METADATA_URL : undefined,
    algorithms: ['ES256', 'RS256'],
    jwksCacheMinSeconds: 60,
    jwksCacheMaxSeconds: 3600,
    jwksCooldown: 30,
    fetchTimeoutMs: 5000,
    maxJwksBytes: 65536,
    ...options,
  };
}

function setup(options: Partial<JwksCacheSettings> = {}): Setup {
  const answers = new Map<string, Answer>([
    [METADATA_URL, { body: { issuer: ISSUER, jwks_uri: JWKS_URL } }],
    [JWKS_URL, { body: { keys: [K1] }, cacheControl: 'max-age=600' }],
  ]);
  const fetchFn = jest.fn<FetchFunction>(async (url) => {
    const answer = answers.get(url);
    if (answer === undefined || answer === 'down') {
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (answer.cacheControl !== undefined) headers['cache-control'] = answer.cacheControl;
    return new Response(JSON.stringify(answer.body), { headers });
  });
  const warn = jest.fn<(message: string) => void>();
  const error = jest.fn<(message: string) => void>();
  return {
    cache: new JwksCache(settingsOf(options), fetchFn, { warn, error }),
    fetched: () => fetchFn.mock.calls.map(([url]) => url),
    jwks: (answer) => answers.set(JWKS_URL, answer),
    metadata: (answer) => answers.set(METADATA_URL, answer),
    warn,
    error,
  };
}

/** The refusal of `resolve`. */
async function refusal(cache: JwksCache, kid?: string): Promise<Error> {
  return rejectedAs(Error, cache.resolve(header(kid), TOKEN));
}

/** The keys are fetched once, kept `seconds`, and fetched again exactly then. */
async function expectKeptFor(s: Setup, seconds: number): Promise<void> {
  await s.cache.resolve(header('k1'), TOKEN);
  advance(seconds - 1);
  await s.cache.resolve(header('k1'), TOKEN);
  expect(s.fetched()).toHaveLength(1);
  advance(1);
  await s.cache.resolve(header('k1'), TOKEN);
  expect(s.fetched()).toHaveLength(2);
}

/** The issuer does not have the key: jose's own refusal, which a resource server answers 401. */
const expectInvalid = (error: Error) => {
  expect(error).toBeInstanceOf(errors.JWKSNoMatchingKey);
};
/** The keys could not be had: a resource server answers 503 with this Retry-After. */
const expectUnavailable = (error: Error, retryAfter: number) => {
  expect(error).toBeInstanceOf(JwksUnavailableError);
  expect((error as JwksUnavailableError).retryAfter).toBe(retryAfter);
};

describe('JwksCache', () => {
  test('nothing is fetched until a token asks for a key', () => {
    const s = setup();
    expect(s.fetched()).toEqual([]);
  });

  test('RFC 8414: the first key comes through the metadata, then the cache answers', async () => {
    const s = setup();
    const key = await s.cache.resolve(header('k1'), TOKEN);
    expect(key).toMatchObject({ type: 'public' });
    await s.cache.resolve(header('k1'), TOKEN);
    expect(s.fetched()).toEqual([METADATA_URL, JWKS_URL]);
  });

  test('a configured jwksUri is fetched directly', async () => {
    const s = setup({ jwksUri: JWKS_URL });
    await s.cache.resolve(header('k1'), TOKEN);
    expect(s.fetched()).toEqual([JWKS_URL]);
  });

  test('a token without kid gets the one key that fits', async () => {
    const s = setup();
    await expect(s.cache.resolve(header(), TOKEN)).resolves.toMatchObject({ type: 'public' });
  });

  test('a token without kid, when two keys fit → both offered, for the caller to try or refuse', async () => {
    const s = setup({ jwksUri: JWKS_URL });
    s.jwks({ body: { keys: [K1, K2] } });
    const error = await refusal(s.cache);
    expect(error).toBeInstanceOf(errors.JWKSMultipleMatchingKeys);
    const offered: unknown[] = [];
    for await (const key of error as errors.JWKSMultipleMatchingKeys) offered.push(key);
    expect(offered).toHaveLength(2);
  });

  test('a kid that is not a string → no matching key, nothing fetched', async () => {
    const s = setup();
    const error = await rejectedAs(
      Error,
      s.cache.resolve({ alg: 'ES256', kid: 5 } as unknown as CompactJWSHeaderParameters, TOKEN),
    );
    expectInvalid(error);
    expect(s.fetched()).toEqual([]);
  });

  test('concurrent first requests share one fetch', async () => {
    const s = setup({ jwksUri: JWKS_URL });
    await Promise.all([1, 2, 3, 4].map(() => s.cache.resolve(header('k1'), TOKEN)));
    expect(s.fetched()).toEqual([JWKS_URL]);
  });

  describe('Cache-Control max-age, within the bounds', () => {
    test.each<[string | undefined, number]>([
      ['max-age=600', 600],
      ['public, max-age=120', 120],
      ['max-age=5', 60],
      ['max-age=86400', 3600],
      [undefined, 60],
      ['no-store', 60],
    ])('%s → kept %i s', async (cacheControl, seconds) => {
      const s = setup({ jwksUri: JWKS_URL });
      s.jwks({ body: { keys: [K1] }, cacheControl });
      await expectKeptFor(s, seconds);
    });

    test('custom bounds apply', async () => {
      const s = setup({
        jwksUri: JWKS_URL,
        jwksCacheMinSeconds: 10,
        jwksCacheMaxSeconds: 20,
        jwksCooldown: 5,
      });
      s.jwks({ body: { keys: [K1] }, cacheControl: 'max-age=600' });
      await expectKeptFor(s, 20);
    });

    test('the cooldown is a floor: a max-age under it still waits for it', async () => {
      const s = setup({ jwksUri: JWKS_URL, jwksCacheMinSeconds: 10, jwksCooldown: 30 });
      s.jwks({ body: { keys: [K1] }, cacheControl: 'max-age=10' });
      await expectKeptFor(s, 30);
    });

    test('a key removed at the refresh is refused', async () => {
      const s = setup({ jwksUri: JWKS_URL });
      await s.cache.resolve(header('k1'), TOKEN);
      s.jwks({ body: { keys: [K2] } });
      advance(600);
      expectInvalid(await refusal(s.cache, 'k1'));
    });
  });

  describe('verificationKey and holds (what a verified-token cache relies on)', () => {
    test("a KeyObject with the header's algorithm, the same object each time while the set is in force", async () => {
      const s = setup({ jwksUri: JWKS_URL });
      const key = await s.cache.verificationKey(header('k1'));
      expect(key.algorithm).toBe('ES256');
      expect(key.verificationKey).toBeInstanceOf(KeyObject);
      expect(key.verificationKey.export({ format: 'jwk' })).toMatchObject({ x: K1.x, y: K1.y });
      expect(await s.cache.verificationKey(header('k1'))).toBe(key);
      expect(s.cache.holds(key)).toBe(true);
    });

    test('past the max-age no key is held until it is handed out again; a key the issuer kept is the same object', async () => {
      const s = setup({ jwksUri: JWKS_URL });
      const key = await s.cache.verificationKey(header('k1'));
      advance(599);
      expect(s.cache.holds(key)).toBe(true);
      advance(1);
      expect(s.cache.holds(key)).toBe(false);
      expect(await s.cache.verificationKey(header('k1'))).toBe(key);
      expect(s.fetched()).toHaveLength(2);
      expect(s.cache.holds(key)).toBe(true);
    });

    test('a key replaced under the same kid is a new object; the old one is held no more', async () => {
      const s = setup({ jwksUri: JWKS_URL });
      const key = await s.cache.verificationKey(header('k1'));
      s.jwks({ body: { keys: [{ ...jwk('k1') }] } });
      advance(600);
      const replaced = await s.cache.verificationKey(header('k1'));
      expect(replaced).not.toBe(key);
      expect(s.cache.holds(key)).toBe(false);
      expect(s.cache.holds(replaced)).toBe(true);
    });

    test('a key the issuer removed is held no more, and refused', async () => {
      const s = setup({ jwksUri: JWKS_URL });
      const key = await s.cache.verificationKey(header('k1'));
      s.jwks({ body: { keys: [K2] } });
      advance(600);
      await s.cache.verificationKey(header('k2'));
      expect(s.cache.holds(key)).toBe(false);
      expectInvalid(await rejectedAs(Error, s.cache.verificationKey(header('k1'))));
    });

    test('a key of another cache is not held by this one', async () => {
      const one = setup({ jwksUri: JWKS_URL });
      const other = setup({ jwksUri: JWKS_URL });
      await other.cache.verificationKey(header('k1'));
      expect(other.cache.holds(await one.cache.verificationKey(header('k1')))).toBe(false);
    });
  });

  describe('unknown kid and the cooldown', () => {
    test('one refetch per cooldown, then no matching key', async () => {
      const s = setup({ jwksUri: JWKS_URL });
      await s.cache.resolve(header('k1'), TOKEN);
      advance(30);
      expectInvalid(await refusal(s.cache, 'nope-1'));
      expect(s.fetched()).toHaveLength(2);
      // Within the cooldown, another made-up kid fetches nothing.
      advance(29);
      expectInvalid(await refusal(s.cache, 'nope-2'));
      expectInvalid(await refusal(s.cache, 'nope-3'));
      expect(s.fetched()).toHaveLength(2);
      advance(1);
      expectInvalid(await refusal(s.cache, 'nope-4'));
      expect(s.fetched()).toHaveLength(3);
    });

    test('right after a fetch, an unknown kid waits for the cooldown', async () => {
      const s = setup({ jwksUri: JWKS_URL });
      await s.cache.resolve(header('k1'), TOKEN);
      expectInvalid(await refusal(s.cache, 'nope'));
      expect(s.fetched()).toHaveLength(1);
    });

    test('a rotated key is found by the refetch', async () => {
      const s = setup({ jwksUri: JWKS_URL });
      await s.cache.resolve(header('k1'), TOKEN);
      s.jwks({ body: { keys: [K1, K2] } });
      advance(30);
      await expect(s.cache.resolve(header('k2'), TOKEN)).resolves.toMatchObject({
        type: 'public',
      });
      await s.cache.resolve(header('k1'), TOKEN);
      expect(s.fetched()).toHaveLength(2);
    });

    test('a custom cooldown applies', async () => {
      const s = setup({ jwksUri: JWKS_URL, jwksCooldown: 5 });
      await s.cache.resolve(header('k1'), TOKEN);
      advance(5);
      await refusal(s.cache, 'nope');
      expect(s.fetched()).toHaveLength(2);
    });
  });

  describe('an issuer that cannot be reached', () => {
    test('never fetched → unavailable with Retry-After until the cooldown ends; then it tries again', async () => {
      const s = setup();
      s.metadata('down');
      expectUnavailable(await refusal(s.cache, 'k1'), 30);
      expect(s.fetched()).toEqual([METADATA_URL]);
      advance(12);
      expectUnavailable(await refusal(s.cache, 'k1'), 18);
      advance(17.5);
      expectUnavailable(await refusal(s.cache, 'k1'), 1);
      expect(s.fetched()).toHaveLength(1);
      s.metadata({ body: { issuer: ISSUER, jwks_uri: JWKS_URL } });
      advance(0.5);
      await expect(s.cache.resolve(header('k1'), TOKEN)).resolves.toBeDefined();
      expect(s.fetched()).toEqual([METADATA_URL, METADATA_URL, JWKS_URL]);
      expect(s.error.mock.calls).toEqual([
        [
          `Cannot fetch the keys of ${ISSUER}: ${METADATA_URL} unreachable (ECONNREFUSED); ` +
            'tokens are answered 503 until the keys can be fetched (next attempt in 30 s at the earliest)',
          {
            event: 'oauth2.jwks.fetch_failed',
            issuer: ISSUER,
            url: METADATA_URL,
            reason: 'unreachable (ECONNREFUSED)',
            keysInUse: false,
          },
        ],
      ]);
    });

    test('the log says what requests get meanwhile, as the owner of the cache words it', async () => {
      const s = setup({ jwksUri: JWKS_URL, refusalWhileDown: 'client assertions are refused' });
      s.jwks('down');
      expectUnavailable(await refusal(s.cache, 'k1'), 30);
      expect(s.error.mock.calls).toEqual([
        [
          `Cannot fetch the keys of ${ISSUER}: ${JWKS_URL} unreachable (ECONNREFUSED); ` +
            'client assertions are refused until the keys can be fetched (next attempt in 30 s at the earliest)',
          expect.objectContaining({ event: 'oauth2.jwks.fetch_failed', url: JWKS_URL }),
        ],
      ]);
    });

    test('a URL with user, password and query is logged without them', async () => {
      const secretUrl = 'https://svc:hunter2@issuer.example/jwks?access=s3cr3t';
      const s = setup({ jwksUri: secretUrl });
      expectUnavailable(await refusal(s.cache, 'k1'), 30);
      const logged = JSON.stringify(s.error.mock.calls);
      expect(logged).toContain('https://issuer.example/jwks');
      expect(logged).not.toMatch(/hunter2|s3cr3t|svc:/);
    });

    test('down after a fetch → the cached keys keep working past their max-age', async () => {
      const s = setup();
      await s.cache.resolve(header('k1'), TOKEN);
      s.jwks('down');
      advance(600);
      await expect(s.cache.resolve(header('k1'), TOKEN)).resolves.toBeDefined();
      advance(3600);
      await expect(s.cache.resolve(header('k1'), TOKEN)).resolves.toBeDefined();
      // The metadata is read once; each refresh is one JWKS attempt.
      expect(s.fetched()).toEqual([METADATA_URL, JWKS_URL, JWKS_URL, JWKS_URL]);
      expect(s.error.mock.calls[0]).toEqual([
        `Cannot fetch the keys of ${ISSUER}: ${JWKS_URL} unreachable (ECONNREFUSED); ` +
          'the keys fetched before stay in use',
        expect.objectContaining({ event: 'oauth2.jwks.fetch_failed', keysInUse: true }),
      ]);
    });

    test('an unknown kid while the refetch fails → unavailable, not unknown', async () => {
      const s = setup({ jwksUri: JWKS_URL });
      await s.cache.resolve(header('k1'), TOKEN);
      s.jwks('down');
      advance(30);
      expectUnavailable(await refusal(s.cache, 'k2'), 30);
      await expect(s.cache.resolve(header('k1'), TOKEN)).resolves.toBeDefined();
    });

    test('the metadata names another issuer → unavailable, and the log says which', async () => {
      const s = setup();
      s.metadata({ body: { issuer: `${ISSUER}/`, jwks_uri: JWKS_URL } });
      expectUnavailable(await refusal(s.cache, 'k1'), 30);
      expect(s.fetched()).toEqual([METADATA_URL]);
      expect(s.error.mock.calls[0][0]).toContain(
        `${METADATA_URL} names the issuer "${ISSUER}/", not the configured "${ISSUER}" (RFC 8414 §3.3)`,
      );
    });

    test.each([
      ['no jwks_uri', { issuer: ISSUER }],
      ['a jwks_uri that is not http(s)', { issuer: ISSUER, jwks_uri: 'file:///etc/passwd' }],
    ])('metadata with %s → unavailable', async (_name, body) => {
      const s = setup();
      s.metadata({ body });
      expectUnavailable(await refusal(s.cache, 'k1'), 30);
      expect(s.error.mock.calls[0][0]).toContain(`${METADATA_URL} has no http(s) jwks_uri`);
    });
  });

  describe('hostile key sets', () => {
    test('a private member: the set is refused whole (unavailable), the key never logged', async () => {
      const s = setup({ jwksUri: JWKS_URL });
      const leaked = { ...K1, d: 'c2VjcmV0LWtleS1tYXRlcmlhbA' };
      s.jwks({ body: { keys: [leaked] } });
      expectUnavailable(await refusal(s.cache, 'k1'), 30);
      const logged = JSON.stringify([s.warn.mock.calls, s.error.mock.calls]);
      expect(logged).toContain('published private key material');
      expect(logged).not.toContain(leaked.d);
      expect(logged).not.toContain(K1.x);
    });

    test('passed-over keys are logged as warnings; the good ones work', async () => {
      const s = setup({ jwksUri: JWKS_URL });
      s.jwks({ body: { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'hs' }, K1] } });
      await expect(s.cache.resolve(header('k1'), TOKEN)).resolves.toBeDefined();
      expectInvalid(await refusal(s.cache, 'hs'));
      expect(s.warn.mock.calls).toEqual([
        [
          `The JWK Set at ${JWKS_URL}: key hs is a symmetric (oct) key; it is ignored`,
          {
            event: 'oauth2.jwks.key_ignored',
            jwksUri: JWKS_URL,
            reason: 'key hs is a symmetric (oct) key',
          },
        ],
      ]);
      expect(JSON.stringify(s.warn.mock.calls)).not.toContain('c2VjcmV0');
    });

    test('a document that is not a JWK Set → unavailable, then the cooldown', async () => {
      const s = setup({ jwksUri: JWKS_URL });
      s.jwks({ body: ['not', 'a', 'set'] });
      expectUnavailable(await refusal(s.cache, 'k1'), 30);
      expectUnavailable(await refusal(s.cache, 'k1'), 30);
      expect(s.fetched()).toHaveLength(1);
    });
  });
});
