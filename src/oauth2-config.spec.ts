import { describe, expect, test } from '@jest/globals';
import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import {
  ACCESS_TOKEN_LIFETIME_MAX,
  checkAccessTokenLifetime,
  OAuth2Config,
} from './oauth2-config.js';
import type { OAuth2ClientAuthMethod, OAuth2ModuleOptions } from './oauth2-options.interface.js';

const ISSUER = 'https://auth.example.com';
const SECRET = 'x'.repeat(32);
const hs256 = { algorithm: 'HS256', secret: SECRET } as const;

const config = (overrides: Partial<OAuth2ModuleOptions> = {}): OAuth2Config =>
  new OAuth2Config({ issuer: ISSUER, signing: hs256, ...overrides });
/** Options a type would refuse, as a JavaScript caller or an env-built object may pass them. */
const untyped = (overrides: Record<string, unknown>): OAuth2Config =>
  config(overrides as Partial<OAuth2ModuleOptions>);
const method = (fields: Partial<OAuth2ClientAuthMethod> = {}): OAuth2ClientAuthMethod => ({
  name: 'tls_client_auth',
  strategy: 'my-mtls',
  isPresentIn: () => false,
  ...fields,
});
const LIFETIME_ERROR = new Error(
  'OAuth2Module: `accessTokenLifetime` must be a whole number of seconds from 1 to 2147483647',
);
const SHAPE_ERROR = new Error(
  'OAuth2Module: each of `clientAuthMethods` needs a lower-case `name`, a Passport `strategy` and `isPresentIn()`',
);
const atLeastOne = (name: string) => new Error(`OAuth2Module: \`${name}\` must be at least 1`);

describe('OAuth2Config', () => {
  test('defaults: lifetime 3600, body credentials allowed, no public clients, realm Service, audience = issuer', () => {
    const c = config();
    expect(c.issuer).toBe(ISSUER);
    expect(c.audience).toEqual([ISSUER]);
    expect(c.accessTokenLifetime).toBe(3600);
    expect(c.allowCredentialsInRequestBody).toBe(true);
    expect(c.allowPublicClients).toBe(false);
    expect(c.allowAccessTokenInBody).toBe(false);
    expect(c.realm).toBe('Service');
    expect(c.customClaims).toBeUndefined();
    expect(c.legacyPlaintextSecrets).toBe(false);
    expect(c.secretPepper).toBeUndefined();
    expect(c.previousSecretPeppers).toEqual([]);
    expect(c.storageTimeoutMs).toBe(5000);
    expect(c.clientAuthMethods).toEqual([]);
    expect(c.clientCache).toEqual({ ttl: 5, max: 10_000 });
    expect(c.accessTokenCache).toEqual({ maxEntries: 1000 });
    // Two of the longest token lifetimes: a client asks again about once per lifetime.
    expect(c.secretVerification).toEqual({
      cacheTtl: 2 * 86400,
      cacheMax: 10_000,
      maxConcurrentKdf: Math.min(4, Math.max(1, availableParallelism() - 1)),
      maxQueuedKdf: 32,
    });
  });

  test('defaults: maxConcurrentKdf leaves the event loop a core, from 1 to 4', () => {
    const { maxConcurrentKdf } = config().secretVerification;
    expect(maxConcurrentKdf).toBeGreaterThanOrEqual(1);
    expect(maxConcurrentKdf).toBeLessThanOrEqual(4);
  });

  test('every option is taken as given', () => {
    const customClaims = () => ({ tenant: 't1' });
    const c = config({
      audience: ['https://api.example.com', 'https://other.example.com'],
      accessTokenLifetime: 60,
      allowCredentialsInRequestBody: false,
      allowPublicClients: true,
      allowAccessTokenInBody: true,
      realm: 'My API',
      customClaims,
      legacyPlaintextSecrets: true,
      secretPepper: 'p'.repeat(32),
      previousSecretPeppers: ['q'.repeat(32)],
      storageTimeoutMs: 250,
      clientCache: { ttl: 0, max: 1 },
      accessTokenCache: { maxEntries: 0 },
      secretVerification: { cacheTtl: 0, cacheMax: 1, maxConcurrentKdf: 1, maxQueuedKdf: 0 },
    });
    expect(c.audience).toEqual(['https://api.example.com', 'https://other.example.com']);
    expect(c.accessTokenLifetime).toBe(60);
    expect(c.allowCredentialsInRequestBody).toBe(false);
    expect(c.allowPublicClients).toBe(true);
    expect(c.allowAccessTokenInBody).toBe(true);
    expect(c.realm).toBe('My API');
    expect(c.customClaims).toBe(customClaims);
    expect(c.legacyPlaintextSecrets).toBe(true);
    expect(c.secretPepper).toBe('p'.repeat(32));
    expect(c.previousSecretPeppers).toEqual(['q'.repeat(32)]);
    expect(c.storageTimeoutMs).toBe(250);
    expect(c.clientCache).toEqual({ ttl: 0, max: 1 });
    expect(c.accessTokenCache).toEqual({ maxEntries: 0 });
    expect(c.secretVerification).toEqual({
      cacheTtl: 0,
      cacheMax: 1,
      maxConcurrentKdf: 1,
      maxQueuedKdf: 0,
    });
  });

  test('clientCache and secretVerification: given fields complete the defaults', () => {
    const c = config({ clientCache: { ttl: 60 }, secretVerification: { maxQueuedKdf: 4 } });
    expect(c.clientCache).toEqual({ ttl: 60, max: 10_000 });
    expect(c.secretVerification).toMatchObject({
      cacheTtl: 2 * 86400,
      cacheMax: 10_000,
      maxQueuedKdf: 4,
    });
  });

  test('the pepper list is copied, so later changes to the options do not leak in', () => {
    const previousSecretPeppers = ['a'];
    const c = config({ previousSecretPeppers });
    previousSecretPeppers.push('b');
    expect(c.previousSecretPeppers).toEqual(['a']);
  });

  test('RFC 9068 §2.2 aud: a single audience string becomes a one-element list', () => {
    expect(config({ audience: 'https://api.example.com' }).audience).toEqual([
      'https://api.example.com',
    ]);
  });

  test('the audience list is copied, so later changes to the options do not leak in', () => {
    const audience = ['a'];
    const c = config({ audience });
    audience.push('b');
    expect(c.audience).toEqual(['a']);
  });

  test('the signing keys are resolved to KeyObjects', () => {
    const c = config();
    expect(c.keys!.active.algorithm).toBe('HS256');
    expect(c.keys!.active.state).toBe('active');
    expect(c.keys!.active.signingKey).toBeInstanceOf(KeyObject);
    expect(c.keys!.active.signingKey.type).toBe('secret');
    expect(c.keys!.active.verificationKey).toBe(c.keys!.active.signingKey);
  });

  test('asymmetric keys are resolved to KeyObjects', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const c = config({ signing: { algorithm: 'ES256', privateKey: pem } });
    expect(c.keys!.active.signingKey.type).toBe('private');
    expect(c.keys!.active.verificationKey.type).toBe('public');
    expect(c.keys!.active.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  describe('RFC 9068 §2.2 iss: issuer is required', () => {
    test.each([
      ['missing', undefined],
      ['empty', ''],
      ['blank', '   '],
      ['not a string', 42],
    ])('%s issuer', (_name, issuer) => {
      expect(
        () => new OAuth2Config({ issuer, signing: hs256 } as unknown as OAuth2ModuleOptions),
      ).toThrow(new Error('OAuth2Module: `issuer` is required'));
    });

    test('no options at all', () => {
      expect(() => new OAuth2Config(undefined as unknown as OAuth2ModuleOptions)).toThrow(
        new Error('OAuth2Module: `issuer` is required'),
      );
    });
  });

  test.each([
    ['an empty list', []],
    ['an empty string', ''],
    ['a list holding an empty string', ['a', '']],
    ['a list holding a number', ['a', 1]],
  ])('RFC 9068 §2.2 aud: audience as %s is refused', (_name, audience) => {
    expect(() => config({ audience } as unknown as Partial<OAuth2ModuleOptions>)).toThrow(
      new Error('OAuth2Module: `audience` must be a non-empty string or list of strings'),
    );
  });

  test.each([
    0,
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    ACCESS_TOKEN_LIFETIME_MAX + 1,
    2 ** 53,
    '3600',
  ])('RFC 6749 §5.1 expires_in: accessTokenLifetime %j is refused', (accessTokenLifetime) => {
    expect(() => untyped({ accessTokenLifetime })).toThrow(LIFETIME_ERROR);
  });

  test.each([1, 3600, 2 ** 31 - 1])(
    'RFC 6749 §5.1 expires_in: accessTokenLifetime %i is accepted (1 to 2^31 - 1)',
    (accessTokenLifetime) => {
      expect(config({ accessTokenLifetime }).accessTokenLifetime).toBe(accessTokenLifetime);
    },
  );

  test('maxAccessTokenLifetime: 86400 by default, or accessTokenLifetime when longer; never below it', () => {
    expect(config({}).maxAccessTokenLifetime).toBe(86400);
    expect(config({ accessTokenLifetime: 90000 }).maxAccessTokenLifetime).toBe(90000);
    expect(config({ maxAccessTokenLifetime: 600, accessTokenLifetime: 600 })).toMatchObject({
      maxAccessTokenLifetime: 600,
      accessTokenLifetime: 600,
    });
    expect(() => config({ maxAccessTokenLifetime: 600 })).toThrow(
      'OAuth2Module: `accessTokenLifetime` must not exceed `maxAccessTokenLifetime`',
    );
    expect(() => untyped({ maxAccessTokenLifetime: 0 })).toThrow(
      'OAuth2Module: `maxAccessTokenLifetime` must be a whole number of seconds from 1 to 2147483647',
    );
  });

  test('maxAssertionLifetime: 3600 by default, whole seconds', () => {
    expect(config({}).maxAssertionLifetime).toBe(3600);
    expect(config({ maxAssertionLifetime: 300 }).maxAssertionLifetime).toBe(300);
    expect(() => untyped({ maxAssertionLifetime: 1.5 })).toThrow(
      'OAuth2Module: `maxAssertionLifetime` must be a whole number of seconds from 1 to 2147483647',
    );
  });

  test('clientAuthThrottle: defaults, an off switch, and bounds that make sense', () => {
    expect(config({}).clientAuthThrottle).toEqual({
      window: 900,
      freeFailures: 5,
      maxFailures: 20,
      maxDelayMs: 5000,
      maxFailuresPerClient: 1000,
    });
    expect(config({ clientAuthThrottle: false }).clientAuthThrottle).toBe(false);
    expect(config({ clientAuthThrottle: { maxFailures: 10 } }).clientAuthThrottle).toMatchObject({
      maxFailures: 10,
      freeFailures: 5,
    });
    expect(() => config({ clientAuthThrottle: { freeFailures: 20 } })).toThrow(
      'freeFailures below maxFailures',
    );
    expect(() => config({ clientAuthThrottle: { window: 0 } })).toThrow('a window of 1 s or more');
    expect(() => config({ clientAuthThrottle: { maxFailuresPerClient: 19 } })).toThrow(
      '`clientAuthThrottle.maxFailuresPerClient` must be at least `maxFailures`',
    );
    expect(() => untyped({ clientAuthThrottle: { maxDelayMs: -1 } })).toThrow(
      '`clientAuthThrottle.maxDelayMs` must be a whole number of at least 0',
    );
  });

  test('minSecretLength: 20 by default, a whole number of at least 1', () => {
    expect(config({}).minSecretLength).toBe(20);
    expect(config({ minSecretLength: 32 }).minSecretLength).toBe(32);
    expect(() => untyped({ minSecretLength: 0 })).toThrow(
      '`minSecretLength` must be a whole number',
    );
  });

  test('ACCESS_TOKEN_LIFETIME_MAX: an exp that fits a signed 32-bit time', () => {
    expect(ACCESS_TOKEN_LIFETIME_MAX).toBe(2147483647);
  });

  test('checkAccessTokenLifetime: the shared rule names the setting it checks', () => {
    expect(checkAccessTokenLifetime(60, 'TOKEN_TTL')).toBe(60);
    expect(() => checkAccessTokenLifetime(0, 'TOKEN_TTL')).toThrow(
      new Error('TOKEN_TTL must be a whole number of seconds from 1 to 2147483647'),
    );
    expect(() => checkAccessTokenLifetime(2 ** 31, 'TOKEN_TTL')).toThrow(
      new Error('TOKEN_TTL must be a whole number of seconds from 1 to 2147483647'),
    );
  });

  test.each([
    ['a double quote', 'My "API"'],
    ['a backslash', 'My\\API'],
    ['an empty string', ''],
    ['a newline', 'My\nAPI'],
    ['a non-ASCII character', 'Sérvice'],
    ['a tab', 'My\tAPI'],
    ['DEL', 'My\x7fAPI'],
  ])('RFC 9110 §11.2 / RFC 6750 §3 quoted-string: realm with %s is refused', (_name, realm) => {
    expect(() => config({ realm })).toThrow(
      new Error('OAuth2Module: `realm` must be printable ASCII without `"` or `\\`'),
    );
  });

  test('RFC 9110 §11.2: every printable ASCII character but `"` and `\\` may be in the realm', () => {
    const all = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i))
      .filter((c) => c !== '"' && c !== '\\')
      .join('');
    expect(config({ realm: all }).realm).toBe(all);
  });

  describe('storageTimeoutMs', () => {
    test.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, 2 ** 53, '5000'])(
      '%j is refused (a Node timer past 2^31 - 1 ms fires at once)',
      (storageTimeoutMs) => {
        expect(() => untyped({ storageTimeoutMs })).toThrow(
          new Error(
            'OAuth2Module: `storageTimeoutMs` must be a whole number of milliseconds from 1 to 2147483647',
          ),
        );
      },
    );

    test('2^31 - 1 ms is the longest accepted', () => {
      expect(config({ storageTimeoutMs: 2 ** 31 - 1 }).storageTimeoutMs).toBe(2 ** 31 - 1);
    });

    test('1 ms is accepted; undefined or null is the default 5000', () => {
      expect(config({ storageTimeoutMs: 1 }).storageTimeoutMs).toBe(1);
      expect(untyped({ storageTimeoutMs: undefined }).storageTimeoutMs).toBe(5000);
      expect(untyped({ storageTimeoutMs: null }).storageTimeoutMs).toBe(5000);
    });
  });

  describe('clientAuthMethods', () => {
    test('a method of your own is kept as given, in a copy of the list', () => {
      const tls = method();
      const methods = [tls];
      const c = config({ clientAuthMethods: methods });
      methods.push(method({ name: 'other' }));
      expect(c.clientAuthMethods).toEqual([tls]);
      expect(c.clientAuthMethods[0]).toBe(tls);
    });

    test('several distinct methods are accepted, in order', () => {
      const a = method({ name: 'tls_client_auth' });
      const b = method({ name: 'self_signed_tls_client_auth', strategy: 'self-signed' });
      expect(config({ clientAuthMethods: [a, b] }).clientAuthMethods).toEqual([a, b]);
    });

    test.each([
      ['null', null],
      ['a string', 'tls_client_auth'],
      ['no name', { strategy: 'my-mtls', isPresentIn: () => false }],
      ['an empty name', method({ name: '' })],
      ['an upper-case name', method({ name: 'TLS_client_auth' })],
      ['a hyphen in the name', method({ name: 'tls-client-auth' })],
      ['a space in the name', method({ name: 'tls client' })],
      ['a name that is not a string', { ...method(), name: 42 }],
      ['an empty strategy', method({ strategy: '' })],
      ['a strategy that is not a string', { ...method(), strategy: 7 }],
      ['no isPresentIn', { name: 'tls_client_auth', strategy: 'my-mtls' }],
      ['an isPresentIn that is not a function', { ...method(), isPresentIn: true }],
    ])('a method with %s is refused', (_name, bad) => {
      expect(() => untyped({ clientAuthMethods: [bad] })).toThrow(SHAPE_ERROR);
    });

    test.each(['client_secret_basic', 'client_secret_post', 'none'])(
      'RFC 7591 §2: the built-in name %s cannot be redefined',
      (name) => {
        expect(() => config({ clientAuthMethods: [method({ name })] })).toThrow(
          new Error(`OAuth2Module: the client authentication method ${name} is defined twice`),
        );
      },
    );

    test('a name given twice is refused', () => {
      expect(() =>
        config({
          clientAuthMethods: [method(), method({ strategy: 'another-strategy' })],
        }),
      ).toThrow(
        new Error(
          'OAuth2Module: the client authentication method tls_client_auth is defined twice',
        ),
      );
    });
  });

  describe.each([
    ['clientCache', 'ttl'],
    ['clientCache', 'max'],
    ['secretVerification', 'cacheTtl'],
    ['secretVerification', 'cacheMax'],
    ['secretVerification', 'maxConcurrentKdf'],
    ['secretVerification', 'maxQueuedKdf'],
  ])('%s.%s: a whole number', (group, field) => {
    test.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '5', null])(
      '%j is refused',
      (value) => {
        expect(() => untyped({ [group]: { [field]: value } })).toThrow(
          new Error(`OAuth2Module: \`${group}.${field}\` must be a whole number of at least 0`),
        );
      },
    );

    test('a large whole number is accepted', () => {
      const c = config({ [group]: { [field]: 1_000_000 } });
      expect((c[group as 'clientCache'] as Record<string, number>)[field]).toBe(1_000_000);
    });
  });

  test.each([
    ['clientCache.ttl', { clientCache: { ttl: 0 } }],
    ['secretVerification.cacheTtl', { secretVerification: { cacheTtl: 0 } }],
    ['secretVerification.maxQueuedKdf', { secretVerification: { maxQueuedKdf: 0 } }],
  ])('%s may be 0', (_name, options) => {
    expect(() => config(options)).not.toThrow();
  });

  test.each([
    ['clientCache.max', { clientCache: { max: 0 } }],
    ['secretVerification.maxConcurrentKdf', { secretVerification: { maxConcurrentKdf: 0 } }],
    // lru-cache reads max 0 as "unbounded".
    ['secretVerification.cacheMax', { secretVerification: { cacheMax: 0 } }],
    ['clientCache.max', { clientCache: { ttl: 0, max: 0 } }],
  ])('%s must be at least 1', (name, options) => {
    expect(() => config(options)).toThrow(atLeastOne(name));
  });

  test('a field given as undefined keeps its default (an unset environment variable, say)', () => {
    const c = config({
      clientCache: { ttl: undefined, max: 7 },
      secretVerification: { cacheTtl: undefined },
    });
    expect(c.clientCache).toEqual({ ttl: 5, max: 7 });
    expect(c.secretVerification.cacheTtl).toBe(172800);
  });

  test('clientAuthMethods must be a list', () => {
    expect(() => untyped({ clientAuthMethods: {} })).toThrow(
      new Error('OAuth2Module: `clientAuthMethods` must be a list'),
    );
  });

  test('1 is enough for clientCache.max and maxConcurrentKdf', () => {
    const c = config({ clientCache: { max: 1 }, secretVerification: { maxConcurrentKdf: 1 } });
    expect(c.clientCache.max).toBe(1);
    expect(c.secretVerification.maxConcurrentKdf).toBe(1);
  });

  test('RFC 7518 §3.2: signing errors fail the construction', () => {
    expect(() => config({ signing: { algorithm: 'HS256', secret: 'short' } })).toThrow(
      new Error('OAuth2Module: an HS256 secret needs at least 32 bytes'),
    );
    expect(() =>
      config({ signing: undefined as unknown as OAuth2ModuleOptions['signing'] }),
    ).toThrow(new Error('OAuth2Module: `signing` is required'));
  });
});

describe('issuer (RFC 8414 §2)', () => {
  test.each([
    ['not a URL', 'auth.example.com', '`issuer` must be an https URL (RFC 8414 §2)'],
    ['another scheme', 'ftp://auth.example.com', 'without query or fragment'],
    ['a query', 'https://auth.example.com/?tenant=a', 'without query or fragment'],
    ['a fragment', 'https://auth.example.com/#a', 'without query or fragment'],
    ['an empty query', 'https://auth.example.com/?', 'without query or fragment'],
    ['five path segments', 'https://auth.example.com/a/b/c/d/e', 'four segments at most'],
  ])('%s is refused', (_name, issuer, message) => {
    expect(
      () => new OAuth2Config({ issuer, signing: { algorithm: 'HS256', secret: 'x'.repeat(32) } }),
    ).toThrow(message);
  });

  test.each(['https://auth.example.com', 'http://localhost:3000', 'https://x.example/a/b/c/d'])(
    '%s is taken as given',
    (issuer) => {
      const c = new OAuth2Config({
        issuer,
        signing: { algorithm: 'HS256', secret: 'x'.repeat(32) },
      });
      expect(c.issuer).toBe(issuer);
    },
  );

  test('jwksMaxAge: whole seconds, 0 allowed, 300 by default', () => {
    const signing = { algorithm: 'HS256', secret: 'x'.repeat(32) } as const;
    expect(new OAuth2Config({ issuer: 'https://a.example', signing }).jwksMaxAge).toBe(300);
    expect(
      new OAuth2Config({ issuer: 'https://a.example', signing, jwksMaxAge: 0 }).jwksMaxAge,
    ).toBe(0);
    for (const jwksMaxAge of [-1, 1.5, Number.NaN]) {
      expect(() => new OAuth2Config({ issuer: 'https://a.example', signing, jwksMaxAge })).toThrow(
        'OAuth2Module: `jwksMaxAge` must be a whole number of seconds of at least 0',
      );
    }
  });

  test('scopesSupported: RFC 6749 §3.3 scope tokens, duplicates collapse', () => {
    const signing = { algorithm: 'HS256', secret: 'x'.repeat(32) } as const;
    const c = new OAuth2Config({
      issuer: 'https://a.example',
      signing,
      scopesSupported: ['a', 'b', 'a'],
    });
    expect(c.scopesSupported).toEqual(['a', 'b']);
    for (const scopesSupported of [['a b'], ['a"b'], [''], 'a'] as unknown as string[][]) {
      expect(
        () => new OAuth2Config({ issuer: 'https://a.example', signing, scopesSupported }),
      ).toThrow('OAuth2Module: `scopesSupported` must be a list of RFC 6749 §3.3 scope tokens');
    }
  });
});

describe('a key store instead of `signing`', () => {
  const KEK = 'ab'.repeat(32);
  const store = (overrides: Partial<OAuth2ModuleOptions> = {}, source = 'typeorm-key-store') =>
    new OAuth2Config(
      { issuer: ISSUER, keyEncryptionKey: KEK, ...overrides },
      source as 'typeorm-key-store',
    );

  test('the TypeORM store: the key encryption key parsed, refresh every 60 s by default, no static keys', () => {
    const c = store({ previousKeyEncryptionKeys: [Buffer.alloc(32, 1)] });
    expect(c.keys).toBeUndefined();
    expect(c.keyEncryptionKey).toEqual(Buffer.alloc(32, 0xab));
    expect(c.previousKeyEncryptionKeys).toEqual([Buffer.alloc(32, 1)]);
    expect(c.keyRefreshInterval).toBe(60);
    expect(store({ keyRefreshInterval: 5 }).keyRefreshInterval).toBe(5);
  });

  test('a store of your own needs no key encryption key', () => {
    expect(store({ keyEncryptionKey: undefined }, 'custom-key-store').keyEncryptionKey).toBe(
      undefined,
    );
  });

  test.each([
    [
      'signing with a store',
      { signing: hs256 },
      '`signing` and a `keyStore` exclude each other: with a key store the keys come from it',
    ],
    [
      'the TypeORM store without a key encryption key',
      { keyEncryptionKey: undefined },
      '`keyStore: true` needs `keyEncryptionKey` (32+ random bytes, e.g. `openssl rand -hex 32`)',
    ],
    [
      'a short key encryption key',
      { keyEncryptionKey: 'ab'.repeat(31) },
      '`keyEncryptionKey` must be a random key of at least 32 bytes',
    ],
    [
      'a short previous key encryption key',
      { previousKeyEncryptionKeys: [Buffer.alloc(16)] },
      'each of `previousKeyEncryptionKeys` must be a random key of at least 32 bytes, not 16',
    ],
    [
      'a refresh interval of 0',
      { keyRefreshInterval: 0 },
      '`keyRefreshInterval` must be a whole number of seconds from 1 to 2147483',
    ],
    [
      'a fractional refresh interval',
      { keyRefreshInterval: 0.5 },
      '`keyRefreshInterval` must be a whole number',
    ],
  ])('%s is refused', (_name, overrides, message) => {
    expect(() => store(overrides as Partial<OAuth2ModuleOptions>)).toThrow(
      `OAuth2Module: ${message}`,
    );
  });

  test.each(['keyEncryptionKey', 'previousKeyEncryptionKeys', 'keyRefreshInterval'])(
    '%s without a key store is refused: it would be ignored',
    (name) => {
      const value = name === 'keyRefreshInterval' ? 60 : name === 'keyEncryptionKey' ? KEK : [KEK];
      expect(() => untyped({ [name]: value })).toThrow(
        `OAuth2Module: \`${name}\` applies to a \`keyStore\` only, and none is set`,
      );
    },
  );
});

describe('clockTolerance', () => {
  const signing = { algorithm: 'HS256', secret: 'x'.repeat(32) } as const;
  test('whole seconds, 0 by default', () => {
    expect(new OAuth2Config({ issuer: 'https://a.example', signing }).clockTolerance).toBe(0);
    expect(
      new OAuth2Config({ issuer: 'https://a.example', signing, clockTolerance: 30 }).clockTolerance,
    ).toBe(30);
    for (const clockTolerance of [-1, 0.5, Number.NaN]) {
      expect(
        () => new OAuth2Config({ issuer: 'https://a.example', signing, clockTolerance }),
      ).toThrow('OAuth2Module: `clockTolerance` must be a whole number of seconds of at least 0');
    }
  });
});
