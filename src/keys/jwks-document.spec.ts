import { describe, expect, test } from '@jest/globals';
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { RemoteDocumentError } from './bounded-fetch.js';
import { JWKS_ALGORITHMS, readJwks } from './jwks-document.js';
import { rejectedAs } from '../../test/support/thrown.js';

const ecPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec: JsonWebKey = { ...ecPair.publicKey.export({ format: 'jwk' }), kid: 'ec-1' };
const rsa: JsonWebKey = { ...rsaPair.publicKey.export({ format: 'jwk' }), kid: 'rsa-1' };
const ALL = JWKS_ALGORITHMS;

describe('readJwks', () => {
  test('public RSA and EC signature keys are kept, with or without alg, use and key_ops', async () => {
    const keys = [
      ec,
      { ...rsa, alg: 'PS256', use: 'sig', key_ops: ['verify'] },
      { ...ec, kid: undefined },
    ];
    await expect(readJwks({ keys }, ALL)).resolves.toEqual({ keys, ignored: [] });
  });

  test.each<[string, Record<string, unknown>, string]>([
    [
      'a symmetric key',
      { kty: 'oct', k: 'c2VjcmV0', kid: 'hs' },
      'key hs is a symmetric (oct) key',
    ],
    ['an OKP key', { kty: 'OKP', crv: 'Ed25519', x: 'AA', kid: 'ed' }, 'key ed has a key type'],
    ['an encryption key', { ...ec, use: 'enc' }, 'key ec-1 is not a signature key (use)'],
    [
      'a signing-only key_ops',
      { ...ec, key_ops: ['sign'] },
      'key ec-1 is not a verification key (key_ops)',
    ],
    [
      'an alg that is not allowed',
      { ...ec, alg: 'HS256' },
      'key ec-1 is for the algorithm HS256, which is not allowed here or does not fit the key',
    ],
    [
      'an alg that does not fit the key',
      { ...ec, alg: 'RS256' },
      'key ec-1 is for the algorithm RS256',
    ],
    ['a kid that is not a string', { ...ec, kid: 7 }, 'key #1 has a kid that is not a string'],
    ['not an object', ['x'] as unknown as Record<string, unknown>, 'key #1 is not a JSON object'],
    ['broken coordinates', { ...ec, x: 'AAAA' }, 'key ec-1 is not a valid public key'],
    [
      'a short RSA key',
      {
        ...generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }),
        kid: 'short',
      },
      'key short is an RSA key shorter than 2048 bits',
    ],
    ['an unprintable kid', { kty: 'oct', k: 'AA', kid: 'a\nb' }, 'key #1 is a symmetric (oct) key'],
  ])('%s is passed over, with a reason', async (_name, key, reason) => {
    const { keys, ignored } = await readJwks({ keys: [key, rsa] }, ALL);
    expect(keys).toEqual([rsa]);
    expect(ignored).toHaveLength(1);
    expect(ignored[0]).toContain(reason);
  });

  test('an EC key when only RSA algorithms are allowed fits none', async () => {
    const { keys, ignored } = await readJwks({ keys: [ec, rsa] }, ['RS256']);
    expect(keys).toEqual([rsa]);
    expect(ignored).toEqual(['key ec-1 fits none of the allowed algorithms']);
  });

  test('RFC 7517 §4.5: keys that share a kid are all passed over', async () => {
    const twin = { ...rsa, kid: 'ec-1' };
    const { keys, ignored } = await readJwks({ keys: [ec, twin, rsa] }, ALL);
    expect(keys).toEqual([rsa]);
    expect(ignored).toEqual([
      'key ec-1 shares its kid with another key',
      'key ec-1 shares its kid with another key',
    ]);
  });

  test.each(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'])(
    'a private member (%s) refuses the whole set, without quoting it',
    async (member) => {
      const leaked = { ...rsa, kid: 'leak', [member]: 'c2VjcmV0LWtleS1tYXRlcmlhbA' };
      const error = await rejectedAs(RemoteDocumentError, readJwks({ keys: [ec, leaked] }, ALL));
      expect(error.message).toBe('published private key material: the whole JWK Set is refused');
    },
  );

  test('a whole private EC key refuses the set', async () => {
    const privateJwk = ecPair.privateKey.export({ format: 'jwk' });
    await expect(readJwks({ keys: [privateJwk] }, ALL)).rejects.toThrow('private key material');
  });

  test.each([null, 'keys', [], {}, { keys: {} }, { keys: 'x' }])(
    '%j is not a JWK Set',
    async (document) => {
      const error = await rejectedAs(RemoteDocumentError, readJwks(document, ALL));
      expect(error.message).toBe('answered with a document that is not a JWK Set');
    },
  );

  test('an empty set is a set', async () => {
    await expect(readJwks({ keys: [] }, ALL)).resolves.toEqual({ keys: [], ignored: [] });
  });
});
