import { describe, expect, test } from '@jest/globals';
import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { OAuth2Config } from './oauth2-config.js';
import type { OAuth2ModuleOptions } from './oauth2-options.interface.js';

const ISSUER = 'https://auth.example.com';
const SECRET = 'x'.repeat(32);
const hs256 = { algorithm: 'HS256', secret: SECRET } as const;

const config = (overrides: Partial<OAuth2ModuleOptions> = {}): OAuth2Config =>
  new OAuth2Config({ issuer: ISSUER, signing: hs256, ...overrides });

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
    });
    expect(c.audience).toEqual(['https://api.example.com', 'https://other.example.com']);
    expect(c.accessTokenLifetime).toBe(60);
    expect(c.allowCredentialsInRequestBody).toBe(false);
    expect(c.allowPublicClients).toBe(true);
    expect(c.allowAccessTokenInBody).toBe(true);
    expect(c.realm).toBe('My API');
    expect(c.customClaims).toBe(customClaims);
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
    expect(c.keys.algorithm).toBe('HS256');
    expect(c.keys.signingKey).toBeInstanceOf(KeyObject);
    expect(c.keys.signingKey.type).toBe('secret');
    expect(c.keys.verificationKey).toBe(c.keys.signingKey);
  });

  test('asymmetric keys are resolved to KeyObjects', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const c = config({ signing: { algorithm: 'ES256', privateKey: pem } });
    expect(c.keys.signingKey.type).toBe('private');
    expect(c.keys.verificationKey.type).toBe('public');
    expect(c.keys.keyId).toMatch(/^[A-Za-z0-9_-]{43}$/);
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

  test.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '3600'])(
    'RFC 6749 §5.1 expires_in: accessTokenLifetime %j is refused',
    (accessTokenLifetime) => {
      expect(() =>
        config({ accessTokenLifetime } as unknown as Partial<OAuth2ModuleOptions>),
      ).toThrow(
        new Error('OAuth2Module: `accessTokenLifetime` must be a positive whole number of seconds'),
      );
    },
  );

  test('RFC 6749 §5.1 expires_in: a lifetime of 1 second is accepted', () => {
    expect(config({ accessTokenLifetime: 1 }).accessTokenLifetime).toBe(1);
  });

  test.each([
    ['a double quote', 'My "API"'],
    ['a backslash', 'My\\API'],
    ['an empty string', ''],
    ['a newline', 'My\nAPI'],
    ['a non-ASCII character', 'Sérvice'],
  ])('RFC 9110 §11.2 / RFC 6750 §3 quoted-string: realm with %s is refused', (_name, realm) => {
    expect(() => config({ realm })).toThrow(
      new Error('OAuth2Module: `realm` must be printable ASCII without `"` or `\\`'),
    );
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
