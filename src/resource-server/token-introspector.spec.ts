import { describe, expect, jest, test } from '@jest/globals';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { parseAuthorization, parseBasicCredentials } from '../http/authorization.js';
import type { FetchFunction } from '../keys/bounded-fetch.js';
import type { OAuthPrincipal } from '../resource/access-token.interface.js';
import { TokenIntrospector, type TokenIntrospectorSettings } from './token-introspector.js';
import { useShiftedClock } from '../../test/support/fake-clock.js';
import { rejectedAs } from '../../test/support/thrown.js';

const ISSUER = 'https://auth.example.com';
const METADATA_URL = `${ISSUER}/.well-known/oauth-authorization-server`;
const ENDPOINT = `${ISSUER}/oauth2/introspect`;
const SECRET = 'p+q:r%€ secret';
const TOKEN = 'header.payload.signature';

const advance = useShiftedClock();
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The principal of a token that passed the local checks, expiring in `ttl` seconds. */
const principal = (ttl = 600, clientId = 'app', subject = 'app'): OAuthPrincipal => ({
  clientId,
  subject,
  scopes: ['read'],
  claims: {
    iss: ISSUER,
    sub: subject,
    aud: 'api',
    client_id: clientId,
    jti: 'j1',
    iat: nowSeconds(),
    exp: nowSeconds() + ttl,
  },
});

/** What the endpoint answers: a JSON body (status 200 unless given), or 'down'. */
type Answer = { body: unknown; status?: number } | 'down';

interface Call {
  url: string;
  init: RequestInit;
}

function setup(introspection: Partial<TokenIntrospectorSettings['introspection']> = {}) {
  const answers = new Map<string, Answer>([
    [METADATA_URL, { body: { issuer: ISSUER, introspection_endpoint: ENDPOINT } }],
    [ENDPOINT, { body: { active: true, client_id: 'app', sub: 'app' } }],
  ]);
  const calls: Call[] = [];
  const fetchFn = jest.fn<FetchFunction>(async (url, init) => {
    calls.push({ url, init });
    const answer = answers.get(url);
    if (answer === undefined || answer === 'down') {
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    }
    return new Response(JSON.stringify(answer.body), {
      status: answer.status ?? 200,
      headers: { 'content-type': 'application/json' },
    });
  });
  const warn = jest.fn<(message: string) => void>();
  const error = jest.fn<(message: string) => void>();
  const introspector = new TokenIntrospector(
    {
      issuer: ISSUER,
      metadataUrl: METADATA_URL,
      fetchTimeoutMs: 5000,
      maxJwksBytes: 65536,
      introspection: {
        endpoint: undefined,
        clientId: 'reports api',
        clientSecret: SECRET,
        cacheTtl: 30,
        cacheMaxEntries: 100,
        failureCooldown: 5,
        ...introspection,
      },
    },
    fetchFn,
    { warn, error },
  );
  return {
    introspector,
    /** The introspection calls made (the metadata read left out). */
    introspections: () => calls.filter((call) => call.url === ENDPOINT),
    calls,
    answer: (answer: Answer, url = ENDPOINT) => answers.set(url, answer),
    warn,
    error,
    logged: () => [...warn.mock.calls, ...error.mock.calls].map(([line]) => line).join('\n'),
  };
}

const refusalOf = (promise: Promise<unknown>) => rejectedAs(OAuth2Error, promise);
const expectNotActive = async (promise: Promise<unknown>) => {
  const error = await refusalOf(promise);
  expect({ status: error.getStatus(), body: error.body }).toEqual({
    status: 401,
    body: { error: 'invalid_token', error_description: 'The access token is not active' },
  });
};
const expectUnavailable = async (promise: Promise<unknown>, retryAfter: number) => {
  const error = await refusalOf(promise);
  expect({ status: error.getStatus(), error: error.error, extras: error.extras }).toEqual({
    status: 503,
    error: 'server_error',
    extras: { retryAfter },
  });
};

describe('TokenIntrospector', () => {
  test('RFC 7662 §2.1: a POST of the token, client_secret_basic with each half form-encoded', async () => {
    const s = setup();
    await s.introspector.check(TOKEN, principal());
    expect(s.calls.map((call) => call.url)).toEqual([METADATA_URL, ENDPOINT]);
    const { init } = s.introspections()[0];
    const headers = init.headers as Record<string, string>;
    expect(init.method).toBe('POST');
    expect(headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(init.body).toBe('token=header.payload.signature&token_type_hint=access_token');
    expect(init.redirect).toBe('error');
    const authorization = parseAuthorization(headers.authorization);
    expect(authorization?.scheme).toBe('basic');
    expect(parseBasicCredentials(authorization?.credentials ?? '')).toEqual({
      clientId: 'reports api',
      clientSecret: SECRET,
    });
  });

  test('a configured endpoint is called without reading the metadata', async () => {
    const s = setup({ endpoint: ENDPOINT });
    await s.introspector.check(TOKEN, principal());
    expect(s.calls.map((call) => call.url)).toEqual([ENDPOINT]);
  });

  test('{"active": false} → 401 invalid_token', async () => {
    const s = setup();
    s.answer({ body: { active: false } });
    await expectNotActive(s.introspector.check(TOKEN, principal()));
  });

  test.each([
    ['client_id', { active: true, client_id: 'other', sub: 'app' }],
    ['sub', { active: true, client_id: 'app', sub: 'someone' }],
  ])('active, but for another %s → 401, and a warning', async (member, body) => {
    const s = setup();
    s.answer({ body });
    await expectNotActive(s.introspector.check(TOKEN, principal()));
    expect(s.warn.mock.calls[0][0]).toContain(`answered active with a ${member} other than`);
  });

  test('active with neither client_id nor sub (both optional in §2.2) passes', async () => {
    const s = setup();
    s.answer({ body: { active: true } });
    await expect(s.introspector.check(TOKEN, principal())).resolves.toBeUndefined();
  });

  describe('the cache', () => {
    test('an answer is kept cacheTtl: no call before it ends, one after', async () => {
      const s = setup();
      await s.introspector.check(TOKEN, principal());
      advance(29);
      await s.introspector.check(TOKEN, principal());
      expect(s.introspections()).toHaveLength(1);
      // Revoked at the issuer meanwhile: refused once the answer expires.
      s.answer({ body: { active: false } });
      advance(1);
      await expectNotActive(s.introspector.check(TOKEN, principal()));
      expect(s.introspections()).toHaveLength(2);
    });

    test('never past the token’s exp', async () => {
      const s = setup();
      const shortLived = principal(10);
      await s.introspector.check(TOKEN, shortLived);
      advance(10);
      await s.introspector.check(TOKEN, shortLived);
      expect(s.introspections()).toHaveLength(2);
    });

    test('a “not active” answer is kept too', async () => {
      const s = setup();
      s.answer({ body: { active: false } });
      await expectNotActive(s.introspector.check(TOKEN, principal()));
      s.answer({ body: { active: true } });
      await expectNotActive(s.introspector.check(TOKEN, principal()));
      expect(s.introspections()).toHaveLength(1);
    });

    test('cacheTtl 0: the issuer is asked every time', async () => {
      const s = setup({ cacheTtl: 0 });
      await s.introspector.check(TOKEN, principal());
      await s.introspector.check(TOKEN, principal());
      expect(s.introspections()).toHaveLength(2);
    });

    test('one answer per token', async () => {
      const s = setup();
      await s.introspector.check(TOKEN, principal());
      await s.introspector.check(`${TOKEN}x`, principal());
      expect(s.introspections()).toHaveLength(2);
    });

    test('bounded: past cacheMaxEntries, the least recently used answer goes', async () => {
      const s = setup({ cacheMaxEntries: 2 });
      for (const token of ['a', 'b', 'a', 'c']) await s.introspector.check(token, principal());
      expect(s.introspections()).toHaveLength(3);
      await s.introspector.check('a', principal());
      expect(s.introspections()).toHaveLength(3);
      await s.introspector.check('b', principal());
      expect(s.introspections()).toHaveLength(4);
    });

    test('concurrent checks of one token share one call', async () => {
      const s = setup();
      await Promise.all([1, 2, 3].map(() => s.introspector.check(TOKEN, principal())));
      expect(s.introspections()).toHaveLength(1);
    });

    test('concurrent checks share a failure too', async () => {
      const s = setup();
      s.answer('down');
      const checks = [1, 2, 3].map(() =>
        expectUnavailable(s.introspector.check(TOKEN, principal()), 5),
      );
      await Promise.all(checks);
      expect(s.introspections()).toHaveLength(1);
    });
  });

  describe('an issuer that cannot be asked: 503, never a token let through', () => {
    const MALFORMED = 'answered with a body that is not an RFC 7662 §2.2 response';
    test.each<[string, Answer, string]>([
      ['unreachable', 'down', 'unreachable (ECONNREFUSED)'],
      ['a 500', { status: 500, body: {} }, 'answered HTTP 500'],
      ['an array', { body: [{ active: true }] }, MALFORMED],
      ['no active member', { body: { client_id: 'app' } }, MALFORMED],
      ['active as a string', { body: { active: 'true' } }, MALFORMED],
      ['active as 1', { body: { active: 1 } }, MALFORMED],
      ['null', { body: null }, MALFORMED],
    ])('%s', async (_name, answer, reason) => {
      const s = setup();
      s.answer(answer);
      await expectUnavailable(s.introspector.check(TOKEN, principal()), 5);
      expect(s.logged()).toBe(
        `Cannot introspect a token at ${ENDPOINT}: ${reason}; ` +
          'tokens not in the cache are answered 503 for 5 s',
      );
    });

    test('our credentials refused (401): a log line that says so, without the secret', async () => {
      const s = setup();
      s.answer({ status: 401, body: { error: 'invalid_client' } });
      await expectUnavailable(s.introspector.check(TOKEN, principal()), 5);
      expect(s.logged()).toBe(
        `Cannot introspect a token at ${ENDPOINT}: answered HTTP 401: the issuer refused this ` +
          'service’s credentials (check `introspection.clientId` "reports api" and its secret, and ' +
          'that it may introspect); tokens not in the cache are answered 503 for 5 s',
      );
      expect(s.logged()).not.toContain('secret ');
      expect(s.logged()).not.toContain(TOKEN);
    });

    test('the metadata names no introspection endpoint: 503 and a log line that says what to do', async () => {
      const s = setup();
      s.answer({ body: { issuer: ISSUER, jwks_uri: `${ISSUER}/jwks` } }, METADATA_URL);
      await expectUnavailable(s.introspector.check(TOKEN, principal()), 5);
      expect(s.logged()).toBe(
        `Cannot introspect a token at ${METADATA_URL}: has no http(s) introspection_endpoint: set ` +
          '`introspection.endpoint`, or have the issuer publish it; tokens not in the cache are ' +
          'answered 503 for 5 s',
      );
    });

    test('the metadata of another issuer is refused (RFC 8414 §3.3)', async () => {
      const s = setup();
      s.answer({ body: { issuer: `${ISSUER}/`, introspection_endpoint: ENDPOINT } }, METADATA_URL);
      await expectUnavailable(s.introspector.check(TOKEN, principal()), 5);
      expect(s.introspections()).toEqual([]);
      expect(s.logged()).toContain('(RFC 8414 §3.3)');
    });

    test('after a failure: no call within failureCooldown (Retry-After counts down), then recovery', async () => {
      const s = setup();
      s.answer('down');
      await expectUnavailable(s.introspector.check(TOKEN, principal()), 5);
      s.answer({ body: { active: true } });
      advance(3);
      await expectUnavailable(s.introspector.check('another', principal()), 2);
      expect(s.introspections()).toHaveLength(1);
      // Answers cached before the failure are still used.
      advance(2);
      await s.introspector.check(TOKEN, principal());
      expect(s.introspections()).toHaveLength(2);
      expect(s.error).toHaveBeenCalledTimes(1);
    });

    test('a cached answer is used while the issuer is down', async () => {
      const s = setup();
      await s.introspector.check(TOKEN, principal());
      s.answer('down');
      await s.introspector.check(TOKEN, principal());
      expect(s.introspections()).toHaveLength(1);
    });
  });
});
