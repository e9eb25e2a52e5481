import { describe, expect, test } from '@jest/globals';
import { OAuth2ResourceServerConfig } from './oauth2-resource-server-config.js';
import type { OAuth2ResourceServerOptions } from './oauth2-resource-server-options.interface.js';
import { thrownBy } from '../../test/support/thrown.js';

const ISSUER = 'https://auth.example.com';
const base: OAuth2ResourceServerOptions = { issuer: ISSUER, audience: 'https://api.example.com' };
const config = (options: Partial<OAuth2ResourceServerOptions>) =>
  new OAuth2ResourceServerConfig({ ...base, ...options });

/** The message of the boot error the options raise. */
const refusal = (options: unknown): string =>
  (thrownBy(() => new OAuth2ResourceServerConfig(options as OAuth2ResourceServerOptions)) as Error)
    .message;

describe('OAuth2ResourceServerConfig', () => {
  test('defaults', () => {
    expect({ ...new OAuth2ResourceServerConfig(base) }).toEqual({
      issuer: ISSUER,
      audience: ['https://api.example.com'],
      jwksUri: undefined,
      metadataUrl: 'https://auth.example.com/.well-known/oauth-authorization-server',
      algorithms: ['RS256', 'PS256', 'ES256', 'RS384', 'RS512', 'PS384', 'PS512', 'ES384', 'ES512'],
      clockTolerance: 0,
      accessTokenCache: { maxEntries: 1000 },
      realm: 'Service',
      allowAccessTokenInBody: false,
      jwksCacheMinSeconds: 60,
      jwksCacheMaxSeconds: 3600,
      jwksCooldown: 30,
      fetchTimeoutMs: 5000,
      maxJwksBytes: 65536,
      introspection: undefined,
    });
  });

  test('every option is read', () => {
    const given: Partial<OAuth2ResourceServerOptions> = {
      audience: ['a', 'b'],
      jwksUri: 'https://keys.example.com/jwks.json',
      algorithms: ['ES256', 'PS512'],
      clockTolerance: 5,
      accessTokenCache: { maxEntries: 0 },
      realm: 'Reports',
      allowAccessTokenInBody: true,
      jwksCacheMinSeconds: 0,
      jwksCacheMaxSeconds: 0,
      jwksCooldown: 1,
      fetchTimeoutMs: 250,
      maxJwksBytes: 2048,
    };
    expect({ ...config(given) }).toEqual({
      ...given,
      issuer: ISSUER,
      metadataUrl: undefined,
      introspection: undefined,
      resourceMetadata: undefined,
      resourceMetadataUrl: undefined,
    });
  });

  test.each([-1, 1.5, 1_000_001, Number.NaN])(
    'accessTokenCache.maxEntries %p is refused',
    (maxEntries) => {
      expect(() => config({ accessTokenCache: { maxEntries } })).toThrow(
        '`accessTokenCache.maxEntries` must be a whole number from 0 to 1000000',
      );
    },
  );

  test('a repeated algorithm counts once', () => {
    expect(config({ algorithms: ['ES256', 'RS256', 'ES256'] }).algorithms).toEqual([
      'ES256',
      'RS256',
    ]);
  });

  test.each([
    ['https://auth.example.com', 'https://auth.example.com/.well-known/oauth-authorization-server'],
    [
      'https://auth.example.com/',
      'https://auth.example.com/.well-known/oauth-authorization-server',
    ],
    [
      'https://auth.example.com/tenant/one',
      'https://auth.example.com/.well-known/oauth-authorization-server/tenant/one',
    ],
    [
      'http://localhost:3000/tenant/',
      'http://localhost:3000/.well-known/oauth-authorization-server/tenant',
    ],
  ])('RFC 8414 §3.1: the metadata of %s is at %s', (issuer, metadataUrl) => {
    expect(config({ issuer }).metadataUrl).toBe(metadataUrl);
  });

  test('with a jwksUri, the issuer need not be a URL', () => {
    const c = config({ issuer: 'urn:example:issuer', jwksUri: 'http://127.0.0.1:8080/jwks' });
    expect(c.issuer).toBe('urn:example:issuer');
    expect(c.metadataUrl).toBeUndefined();
  });

  describe('RFC 7662 introspection', () => {
    const credentials = { clientId: 'reports-api', clientSecret: 's3cret' };

    test('defaults: the endpoint from the metadata, 30 s answers, 10000 of them, 5 s after a failure', () => {
      expect(config({ introspection: credentials }).introspection).toEqual({
        ...credentials,
        endpoint: undefined,
        cacheTtl: 30,
        cacheMaxEntries: 10_000,
        failureCooldown: 5,
      });
    });

    test('every option is read; with jwksUri, an endpoint', () => {
      const introspection = {
        ...credentials,
        endpoint: 'https://auth.example.com/introspect',
        cacheTtl: 0,
        cacheMaxEntries: 5,
        failureCooldown: 1,
      };
      const c = config({ jwksUri: 'https://auth.example.com/jwks', introspection });
      expect(c.introspection).toEqual(introspection);
    });

    test.each<[string, unknown, string]>([
      ['no client id', { clientSecret: 's' }, '`introspection.clientId` is required'],
      [
        'no secret',
        { clientId: 'a', clientSecret: '' },
        '`introspection.clientSecret` is required',
      ],
      [
        'a relative endpoint',
        { ...credentials, endpoint: '/introspect' },
        '`introspection.endpoint` must be an absolute https://',
      ],
      [
        'a negative TTL',
        { ...credentials, cacheTtl: -1 },
        '`introspection.cacheTtl` must be a whole number of at least 0',
      ],
      [
        'a cache of 0 entries',
        { ...credentials, cacheMaxEntries: 0 },
        '`introspection.cacheMaxEntries` must be a whole number of at least 1',
      ],
      [
        'a cooldown of 0',
        { ...credentials, failureCooldown: 0 },
        '`introspection.failureCooldown` must be a whole number of at least 1',
      ],
    ])('%s is refused at boot, never naming the secret', (_name, introspection, message) => {
      const text = refusal({ ...base, introspection });
      expect(text).toContain(message);
      expect(text).not.toContain('s3cret');
    });

    test('jwksUri without an endpoint is refused at boot: no metadata is read to find one', () => {
      expect(
        refusal({ ...base, jwksUri: 'https://auth.example.com/jwks', introspection: credentials }),
      ).toBe(
        'OAuth2ResourceServerModule: `introspection.endpoint` is required with `jwksUri`: ' +
          'the issuer’s metadata, which names it, is not read',
      );
    });
  });

  describe('RFC 9728 resource metadata', () => {
    test('the document and its URL', () => {
      const c = config({
        allowAccessTokenInBody: true,
        resourceMetadata: {
          resource: 'https://api.example.com',
          scopesSupported: ['reports:read', 'reports:write'],
          resourceName: 'Reports API',
          resourceDocumentation: 'https://docs.example.com/reports',
        },
      });
      expect(c.resourceMetadata).toEqual({
        resource: 'https://api.example.com',
        authorization_servers: [ISSUER],
        bearer_methods_supported: ['header', 'body'],
        scopes_supported: ['reports:read', 'reports:write'],
        resource_name: 'Reports API',
        resource_documentation: 'https://docs.example.com/reports',
      });
      expect(c.resourceMetadataUrl).toBe(
        'https://api.example.com/.well-known/oauth-protected-resource',
      );
    });

    test('§3.1: a resource with a path; header-only bearer methods; nothing optional published', () => {
      const c = config({ resourceMetadata: { resource: 'https://api.example.com/reports' } });
      expect(c.resourceMetadata).toEqual({
        resource: 'https://api.example.com/reports',
        authorization_servers: [ISSUER],
        bearer_methods_supported: ['header'],
      });
      expect(c.resourceMetadataUrl).toBe(
        'https://api.example.com/.well-known/oauth-protected-resource/reports',
      );
    });

    test('none configured → none published', () => {
      expect(config({}).resourceMetadata).toBeUndefined();
      expect(config({}).resourceMetadataUrl).toBeUndefined();
    });
  });

  test.each<[string, unknown, string]>([
    ['no options', undefined, '`issuer` is required'],
    ['no issuer', { audience: 'a' }, '`issuer` is required'],
    ['an empty issuer', { issuer: ' ', audience: 'a' }, '`issuer` is required'],
    ['no audience', { issuer: ISSUER }, '`audience` is required'],
    ['an empty audience list', { ...base, audience: [] }, '`audience` is required'],
    ['an empty audience', { ...base, audience: ['a', ''] }, '`audience` is required'],
    [
      'an issuer that is not a URL, without jwksUri',
      { ...base, issuer: 'auth' },
      '`issuer` must be an absolute https:// (or http://) URL',
    ],
    [
      'an ftp issuer',
      { ...base, issuer: 'ftp://auth.example.com' },
      '`issuer` must be an absolute https://',
    ],
    [
      'an issuer with a query',
      { ...base, issuer: 'https://auth.example.com/?tenant=1' },
      '`issuer` must have no query or fragment (RFC 8414 §2)',
    ],
    ['a relative jwksUri', { ...base, jwksUri: '/jwks' }, '`jwksUri` must be an absolute https://'],
    ['HS256', { ...base, algorithms: ['HS256'] }, 'HS256 is an HMAC algorithm'],
    ['hs512', { ...base, algorithms: ['RS256', 'hs512'] }, 'hs512 is an HMAC algorithm'],
    ['none', { ...base, algorithms: ['none'] }, '`algorithms`: none is not one of RS256, PS256'],
    ['EdDSA', { ...base, algorithms: ['EdDSA'] }, '`algorithms`: EdDSA is not one of'],
    ['no algorithm', { ...base, algorithms: [] }, '`algorithms` must be a non-empty list'],
    [
      'a negative clock tolerance',
      { ...base, clockTolerance: -1 },
      '`clockTolerance` must be a whole number of at least 0',
    ],
    ['a fractional tolerance', { ...base, clockTolerance: 0.5 }, '`clockTolerance` must be'],
    ['a realm with a quote', { ...base, realm: 'a"b' }, '`realm` must be printable ASCII'],
    ['an empty realm', { ...base, realm: '' }, '`realm` must be printable ASCII'],
    [
      'a cache maximum under the minimum',
      { ...base, jwksCacheMinSeconds: 120, jwksCacheMaxSeconds: 60 },
      '`jwksCacheMaxSeconds` must be a whole number of at least 120',
    ],
    [
      'a cooldown of 0',
      { ...base, jwksCooldown: 0 },
      '`jwksCooldown` must be a whole number of at least 1',
    ],
    [
      'a timeout past what a timer holds',
      { ...base, fetchTimeoutMs: 2 ** 31 },
      '`fetchTimeoutMs` must be a whole number from 1 to 2147483647',
    ],
    [
      'a JWKS limit under 1 KiB',
      { ...base, maxJwksBytes: 100 },
      '`maxJwksBytes` must be a whole number of at least 1024',
    ],
    [
      'resource metadata without a resource',
      { ...base, resourceMetadata: {} },
      '`resourceMetadata.resource` must be an absolute https://',
    ],
    [
      'a resource with a fragment',
      { ...base, resourceMetadata: { resource: 'https://api.example.com/#x' } },
      '`resourceMetadata.resource` must have no fragment (RFC 9728 §1.2)',
    ],
    [
      'a scope with a space',
      { ...base, resourceMetadata: { resource: 'https://a.example', scopesSupported: ['a b'] } },
      '`resourceMetadata.scopesSupported` must be a list of RFC 6749 §3.3 scope tokens',
    ],
    [
      'an empty resource name',
      { ...base, resourceMetadata: { resource: 'https://a.example', resourceName: '' } },
      '`resourceMetadata.resourceName` must be a non-empty string',
    ],
  ])('%s is refused at boot', (_name, options, message) => {
    const text = refusal(options);
    expect(text).toMatch(/^OAuth2ResourceServerModule: /);
    expect(text).toContain(message);
  });
});
