import { describe, expect, test } from '@jest/globals';
import {
  createHash,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  KeyObject,
  type JsonWebKey,
  type KeyPairKeyObjectResult,
} from 'node:crypto';
import type { OAuth2SigningKeyOptions } from './signing-options.interface.js';
import { jwkThumbprint, resolveSigningKey } from './signing-keys.js';

const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });

const pkcs8 = (key: KeyObject): string => key.export({ format: 'pem', type: 'pkcs8' }).toString();
const spki = (key: KeyObject): string => key.export({ format: 'pem', type: 'spki' }).toString();

/** RFC 7638 §3: SHA-256 over the required members, in lexicographic order, without white space. */
function thumbprintByHand(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' }) as JsonWebKey;
  const json =
    jwk.kty === 'EC'
      ? `{"crv":"${jwk.crv}","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`
      : `{"e":"${jwk.e}","kty":"RSA","n":"${jwk.n}"}`;
  return createHash('sha256').update(json, 'utf8').digest('base64url');
}

/** The example public key of RFC 7638 §3.1. */
const RFC7638_JWK = {
  kty: 'RSA',
  n:
    '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebW' +
    'KRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQ' +
    'MicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2' +
    'NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
};

const resolve = (signing: unknown) => resolveSigningKey(signing as OAuth2SigningKeyOptions);

describe('jwkThumbprint', () => {
  test('RFC 7638 §3.1: the example RSA key has thumbprint NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs', () => {
    const key = createPublicKey({ key: RFC7638_JWK, format: 'jwk' });
    expect(jwkThumbprint(key)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  test('RFC 7638 §3.2: an EC key hashes crv, kty, x, y in that order', () => {
    expect(jwkThumbprint(p256.publicKey)).toBe(thumbprintByHand(p256.publicKey));
    expect(jwkThumbprint(p521.publicKey)).toBe(thumbprintByHand(p521.publicKey));
  });
});

describe('resolveSigningKey', () => {
  describe('HMAC', () => {
    test.each([
      ['HS256', 32],
      ['HS384', 48],
      ['HS512', 64],
    ])('RFC 7518 §3.2: %s accepts a secret of %i bytes', (algorithm, bytes) => {
      const keys = resolve({ algorithm, secret: 's'.repeat(bytes) });
      expect(keys.algorithm).toBe(algorithm);
      expect(keys.signingKey).toBeInstanceOf(KeyObject);
      expect(keys.signingKey.type).toBe('secret');
      expect(keys.signingKey.symmetricKeySize).toBe(bytes);
      expect(keys.verificationKey).toBe(keys.signingKey);
      expect(keys.kid).toBeUndefined();
    });

    test.each([
      ['HS256', 31, 32],
      ['HS384', 47, 48],
      ['HS512', 63, 64],
      ['HS512', 32, 64],
    ])('RFC 7518 §3.2: %s refuses a secret of %i bytes', (algorithm, bytes, min) => {
      expect(() => resolve({ algorithm, secret: 's'.repeat(bytes) })).toThrow(
        new Error(`OAuth2Module: an ${algorithm} secret needs at least ${min} bytes`),
      );
    });

    test('RFC 7518 §3.2: a string secret is measured in UTF-8 bytes', () => {
      // 16 × 'é' is 16 characters but 32 bytes.
      expect(
        resolve({ algorithm: 'HS256', secret: 'é'.repeat(16) }).signingKey.symmetricKeySize,
      ).toBe(32);
      expect(() => resolve({ algorithm: 'HS256', secret: 'é'.repeat(15) + 'x' })).toThrow(
        new Error('OAuth2Module: an HS256 secret needs at least 32 bytes'),
      );
    });

    test('a Buffer or a secret KeyObject is accepted; keyId is passed through', () => {
      const bytes = Buffer.alloc(32, 7);
      expect(resolve({ algorithm: 'HS256', secret: bytes }).signingKey.export()).toEqual(bytes);
      const key = createSecretKey(bytes);
      const keys = resolve({ algorithm: 'HS256', secret: key, keyId: 'k1' });
      expect(keys.signingKey).toBe(key);
      expect(keys.kid).toBe('k1');
    });

    test('a private KeyObject as an HMAC secret is refused', () => {
      expect(() => resolve({ algorithm: 'HS256', secret: rsa2048.privateKey })).toThrow(
        new Error('OAuth2Module: an HMAC secret must be a secret key'),
      );
    });

    test('RFC 7518 §3.1: an algorithm outside HS256/384/512 with a secret is refused', () => {
      expect(() => resolve({ algorithm: 'RS256', secret: 'x'.repeat(64) })).toThrow(
        new Error('OAuth2Module: unsupported signing algorithm RS256'),
      );
      expect(() => resolve({ algorithm: 'none', secret: 'x'.repeat(64) })).toThrow(
        new Error('OAuth2Module: unsupported signing algorithm none'),
      );
    });
  });

  test.each([undefined, null, 'HS256'])('`signing` %j is refused', (signing) => {
    expect(() => resolve(signing)).toThrow(new Error('OAuth2Module: `signing` is required'));
  });

  describe('ECDSA', () => {
    test.each([
      ['ES256', p256],
      ['ES384', p384],
      ['ES512', p521],
    ])('RFC 7518 §3.4: %s with its curve', (algorithm, pair) => {
      const keys = resolve({ algorithm, privateKey: pair.privateKey });
      expect(keys.algorithm).toBe(algorithm);
      expect(keys.signingKey).toBe(pair.privateKey);
      expect(keys.verificationKey.type).toBe('public');
      expect(spki(keys.verificationKey)).toBe(spki(pair.publicKey));
    });

    test.each([
      ['ES256', p384, 'prime256v1'],
      ['ES256', p521, 'prime256v1'],
      ['ES384', p256, 'secp384r1'],
      ['ES512', p384, 'secp521r1'],
      ['ES256', rsa2048, 'prime256v1'],
    ])('RFC 7518 §3.4: %s refuses a key on another curve or type', (algorithm, pair, curve) => {
      expect(() => resolve({ algorithm, privateKey: pair.privateKey })).toThrow(
        new Error(`OAuth2Module: ${algorithm} needs an EC key on curve ${curve}`),
      );
    });

    test('RFC 7518 §3.4: an explicit public key on the wrong curve is refused (it cannot match)', () => {
      expect(() =>
        resolve({ algorithm: 'ES256', privateKey: p256.privateKey, publicKey: p384.publicKey }),
      ).toThrow(new Error('OAuth2Module: publicKey does not match privateKey'));
    });
  });

  describe('RSA', () => {
    test.each(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'])(
      'RFC 7518 §3.3 / §3.5: %s with a 2048-bit RSA key',
      (algorithm) => {
        const keys = resolve({ algorithm, privateKey: rsa2048.privateKey });
        expect(keys.algorithm).toBe(algorithm);
        expect(keys.signingKey).toBe(rsa2048.privateKey);
        expect(spki(keys.verificationKey)).toBe(spki(rsa2048.publicKey));
      },
    );

    test.each(['RS256', 'PS256'])('RFC 7518 §3.3: %s refuses a 1024-bit RSA key', (algorithm) => {
      expect(() => resolve({ algorithm, privateKey: rsa1024.privateKey })).toThrow(
        new Error(`OAuth2Module: ${algorithm} needs an RSA key of at least 2048 bits`),
      );
    });

    test('RFC 7518 §3.3: RS256 refuses an EC key', () => {
      expect(() => resolve({ algorithm: 'RS256', privateKey: p256.privateKey })).toThrow(
        new Error('OAuth2Module: RS256 needs an RSA key of at least 2048 bits'),
      );
    });

    test('RFC 7518 §3.3: an explicit 1024-bit public key is refused', () => {
      expect(() =>
        resolve({
          algorithm: 'RS256',
          privateKey: rsa2048.privateKey,
          publicKey: rsa1024.publicKey,
        }),
      ).toThrow(new Error('OAuth2Module: publicKey does not match privateKey'));
    });
  });

  describe('key input', () => {
    test('a PKCS#8 PEM private key is read; the public key is derived from it', () => {
      const keys = resolve({ algorithm: 'RS256', privateKey: pkcs8(rsa2048.privateKey) });
      expect(keys.signingKey).toBeInstanceOf(KeyObject);
      expect(keys.signingKey.type).toBe('private');
      expect(keys.verificationKey).toBeInstanceOf(KeyObject);
      expect(keys.verificationKey.type).toBe('public');
      expect(spki(keys.verificationKey)).toBe(spki(rsa2048.publicKey));
    });

    test('traditional PEM (PKCS#1, SEC 1) and a Buffer are read', () => {
      const pkcs1 = rsa2048.privateKey.export({ format: 'pem', type: 'pkcs1' });
      expect(spki(resolve({ algorithm: 'RS256', privateKey: pkcs1 }).verificationKey)).toBe(
        spki(rsa2048.publicKey),
      );
      const sec1 = p256.privateKey.export({ format: 'pem', type: 'sec1' });
      expect(spki(resolve({ algorithm: 'ES256', privateKey: sec1 }).verificationKey)).toBe(
        spki(p256.publicKey),
      );
    });

    test('an explicit public key PEM is read as given', () => {
      const keys = resolve({
        algorithm: 'ES256',
        privateKey: pkcs8(p256.privateKey),
        publicKey: spki(p256.publicKey),
      });
      expect(keys.verificationKey.type).toBe('public');
      expect(spki(keys.verificationKey)).toBe(spki(p256.publicKey));
    });

    test('an unreadable PEM fails with a message that does not quote the key', () => {
      const body = 'TOPSECRETKEYMATERIALdoNotLeakMe0123456789';
      const pem = `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
      let message = '';
      try {
        resolve({ algorithm: 'RS256', privateKey: pem });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe(
        'OAuth2Module: the private signing key could not be read (expected PEM)',
      );
      expect(message).not.toContain(body);
      expect(message).not.toContain('BEGIN');
    });

    test('an unreadable public key PEM fails with its own message', () => {
      expect(() =>
        resolve({ algorithm: 'ES256', privateKey: p256.privateKey, publicKey: 'not a key' }),
      ).toThrow(new Error('OAuth2Module: the public signing key could not be read (expected PEM)'));
    });

    test('a public key PEM passed as privateKey is refused', () => {
      expect(() => resolve({ algorithm: 'RS256', privateKey: spki(rsa2048.publicKey) })).toThrow(
        new Error('OAuth2Module: the private signing key could not be read (expected PEM)'),
      );
    });

    test('a public KeyObject passed as privateKey is refused', () => {
      expect(() => resolve({ algorithm: 'RS256', privateKey: rsa2048.publicKey })).toThrow(
        new Error('OAuth2Module: expected a private key'),
      );
    });

    test('a private KeyObject passed as publicKey is refused', () => {
      expect(() =>
        resolve({ algorithm: 'ES256', privateKey: p256.privateKey, publicKey: p256.privateKey }),
      ).toThrow(new Error('OAuth2Module: expected a public key'));
    });

    test('a secret KeyObject passed as privateKey is refused', () => {
      expect(() =>
        resolve({ algorithm: 'RS256', privateKey: createSecretKey(Buffer.alloc(64)) }),
      ).toThrow(new Error('OAuth2Module: expected a private key'));
    });
  });

  describe('kid', () => {
    test('RFC 7638: the default kid of an RSA key is its JWK thumbprint', () => {
      const keys = resolve({ algorithm: 'RS256', privateKey: rsa2048.privateKey });
      expect(keys.kid).toBe(thumbprintByHand(rsa2048.publicKey));
      expect(keys.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    test('RFC 7638: the default kid of an EC key is its JWK thumbprint', () => {
      expect(resolve({ algorithm: 'ES384', privateKey: p384.privateKey }).kid).toBe(
        thumbprintByHand(p384.publicKey),
      );
    });

    test('RFC 7638: the kid is the same whether the public key is given or derived', () => {
      const derived = resolve({ algorithm: 'ES256', privateKey: pkcs8(p256.privateKey) });
      const given = resolve({
        algorithm: 'ES256',
        privateKey: p256.privateKey,
        publicKey: spki(p256.publicKey),
      });
      expect(given.kid).toBe(derived.kid);
    });

    test('RFC 7515 §4.1.4: a configured keyId wins over the thumbprint', () => {
      expect(
        resolve({ algorithm: 'ES256', privateKey: p256.privateKey, keyId: '2024-01' }).kid,
      ).toBe('2024-01');
    });
  });
});

describe('asymmetric configuration mistakes fail the boot', () => {
  const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // @types/node 20 lacks the hashAlgorithm overload; Node 20 supports it.
  const pss = (generateKeyPairSync as (type: string, options: object) => KeyPairKeyObjectResult)(
    'rsa-pss',
    { modulusLength: 2048, hashAlgorithm: 'sha256', mgf1HashAlgorithm: 'sha256', saltLength: 32 },
  );
  const resolve = (signing: unknown) => resolveSigningKey(signing as OAuth2SigningKeyOptions);

  test.each(['HS256', 'none', 'RS1', 'EdDSA'])(
    'RFC 7518 §3.1: algorithm %s with a privateKey is refused',
    (algorithm) => {
      expect(() => resolve({ algorithm, privateKey: rsa2048.privateKey })).toThrow(
        /^OAuth2Module: unsupported signing algorithm/,
      );
    },
  );

  test('an RSA-PSS-only key is refused with a clear message (no JWK export, so no RFC 7638 kid)', () => {
    expect(() => resolve({ algorithm: 'PS256', privateKey: pss.privateKey })).toThrow(
      /^OAuth2Module: PS256 needs an RSA key/,
    );
  });

  test('a plain RSA key serves PS256', () => {
    expect(resolve({ algorithm: 'PS256', privateKey: rsa2048.privateKey }).algorithm).toBe('PS256');
  });

  test('a publicKey that does not match privateKey is refused', () => {
    expect(() =>
      resolve({
        algorithm: 'RS256',
        privateKey: rsa2048.privateKey,
        publicKey: otherRsa.publicKey,
      }),
    ).toThrow('OAuth2Module: publicKey does not match privateKey');
  });
});
