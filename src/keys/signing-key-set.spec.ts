import { describe, expect, test } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { SigningKeySet } from './signing-key-set.js';
import { jwkThumbprint } from './signing-keys.js';
import type { OAuth2SigningKeyOptions } from './signing-options.interface.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ec2 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const SECRET = 'x'.repeat(32);

const set = (...keys: OAuth2SigningKeyOptions[]) => SigningKeySet.fromOptions(keys);

describe('SigningKeySet', () => {
  test('one key given alone is the active key', () => {
    const keys = SigningKeySet.fromOptions({ algorithm: 'ES256', privateKey: ec.privateKey });
    expect(keys.active.state).toBe('active');
    expect(keys.active.kid).toBe(jwkThumbprint(ec.publicKey));
    expect(keys.keys).toHaveLength(1);
  });

  test('a rotation: next, active and retired keys, the active one signs, each verifies its own kid', () => {
    const keys = set(
      { algorithm: 'ES256', privateKey: ec.privateKey, state: 'retired' },
      { algorithm: 'RS256', privateKey: rsa.privateKey, state: 'active' },
      { algorithm: 'ES256', privateKey: ec2.privateKey, state: 'next' },
    );
    expect(keys.active.algorithm).toBe('RS256');
    for (const [pair, state] of [
      [ec, 'retired'],
      [rsa, 'active'],
      [ec2, 'next'],
    ] as const) {
      expect(keys.keyFor(jwkThumbprint(pair.publicKey))?.state).toBe(state);
    }
  });

  test('RFC 8725 §3.1: only the kid chooses a key, and only among the keys in force', () => {
    const keys = set(
      { algorithm: 'ES256', privateKey: ec.privateKey, state: 'active' },
      { algorithm: 'ES256', privateKey: ec2.privateKey, state: 'retired' },
    );
    expect(keys.keyFor('unknown')).toBeUndefined();
    expect(keys.keyFor(undefined)).toBeUndefined();
    expect(keys.keyFor(42)).toBeUndefined();
    expect(keys.keyFor(['x'])).toBeUndefined();
  });

  test('a single HMAC key without keyId matches tokens without kid, and only then', () => {
    const single = SigningKeySet.fromOptions({ algorithm: 'HS256', secret: SECRET });
    expect(single.keyFor(undefined)).toBe(single.active);
    expect(single.keyFor('anything')).toBeUndefined();
  });

  test.each([
    [
      'no active key',
      [{ algorithm: 'ES256', privateKey: ec.privateKey, state: 'next' }],
      'OAuth2Module: exactly one signing key must be active, not 0',
    ],
    [
      'two active keys',
      [
        { algorithm: 'ES256', privateKey: ec.privateKey },
        { algorithm: 'ES256', privateKey: ec2.privateKey },
      ],
      'OAuth2Module: exactly one signing key must be active, not 2',
    ],
    [
      'two keys with one kid',
      [
        { algorithm: 'ES256', privateKey: ec.privateKey, keyId: 'k' },
        { algorithm: 'ES256', privateKey: ec2.privateKey, keyId: 'k', state: 'retired' },
      ],
      'OAuth2Module: two signing keys have the kid "k"',
    ],
    [
      'several keys, an HMAC one without keyId',
      [
        { algorithm: 'HS256', secret: SECRET, state: 'retired' },
        { algorithm: 'ES256', privateKey: ec.privateKey },
      ],
      'OAuth2Module: with several signing keys, each needs a `keyId`',
    ],
    [
      'an unknown state',
      [{ algorithm: 'ES256', privateKey: ec.privateKey, state: 'old' }],
      'OAuth2Module: a signing key `state` is next, active or retired',
    ],
  ])('%s is refused', (_name, keys, message) => {
    expect(() => set(...(keys as OAuth2SigningKeyOptions[]))).toThrow(new Error(message));
  });

  describe('jwks() (RFC 7517)', () => {
    const keys = set(
      { algorithm: 'RS256', privateKey: rsa.privateKey, state: 'active' },
      { algorithm: 'ES256', privateKey: ec.privateKey, state: 'next' },
      { algorithm: 'HS256', secret: SECRET, keyId: 'shared', state: 'retired' },
    );

    test('every public verification key with kid, alg and use "sig"; never an HMAC secret', () => {
      const { keys: published } = keys.jwks();
      expect(published.map((jwk) => [jwk.kid, jwk.alg, jwk.use, jwk.kty])).toEqual([
        [jwkThumbprint(rsa.publicKey), 'RS256', 'sig', 'RSA'],
        [jwkThumbprint(ec.publicKey), 'ES256', 'sig', 'EC'],
      ]);
    });

    test('never a private member', () => {
      const text = JSON.stringify(keys.jwks());
      for (const member of ['"d"', '"p"', '"q"', '"dp"', '"dq"', '"qi"', '"k"', '"oth"']) {
        expect(text).not.toContain(member);
      }
    });

    test('publishable: the active key is asymmetric', () => {
      expect(keys.publishable).toBe(true);
      expect(SigningKeySet.fromOptions({ algorithm: 'HS256', secret: SECRET }).publishable).toBe(
        false,
      );
    });
  });
});
