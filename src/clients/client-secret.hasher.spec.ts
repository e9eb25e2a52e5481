import * as crypto from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';

type Scrypt = (
  password: crypto.BinaryLike,
  salt: crypto.BinaryLike,
  keylen: number,
  options: crypto.ScryptOptions,
  callback: (error: Error | null, derivedKey: Buffer) => void,
) => void;

/**
 * node:crypto's scrypt, watched (and by default run for real): a stored value over the cost cap must never
 * reach it. An ESM module's imports are bound at link time, so the hasher is imported after the mock.
 */
const realScrypt = (...args: Parameters<Scrypt>) => (crypto.scrypt as Scrypt)(...args);
const scrypt = jest.fn<Scrypt>(realScrypt);
jest.unstable_mockModule('node:crypto', () => ({ ...crypto, scrypt }));
const { ClientSecretHasher, checkSecretPepper } = await import('./client-secret.hasher.js');

/** `$scrypt$ln=15,r=8,p=1$<22 chars of salt>$<32 chars of key>` (PHC string format, unpadded base64). */
const PHC = /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{32}$/;
/** `$hmac-sha256$k=<pepper id>$<43 chars of MAC>`. */
const HMAC = /^\$hmac-sha256\$k=[A-Za-z0-9_-]{1,8}\$[A-Za-z0-9+/]{43}$/;

describe('ClientSecretHasher', () => {
  const hasher = new ClientSecretHasher({ minSecretLength: 1 });
  let stored: string;

  beforeAll(async () => {
    stored = await hasher.hash('testpass');
  });

  test('RFC 7914 scrypt in PHC format: $scrypt$ln=15,r=8,p=1$salt$key', () => {
    expect(stored).toMatch(PHC);
    expect(hasher.isHash(stored)).toBe(true);
  });

  test('fits the seed schema: client_secret VARCHAR(80)', () => {
    expect(stored.length).toBe(77);
    expect(stored.length).toBeLessThanOrEqual(80);
  });

  test('RFC 8018 §4.1: salted, two hashes of one secret differ', async () => {
    const again = await hasher.hash('testpass');
    expect(again).not.toBe(stored);
    expect(again.split('$')[3]).not.toBe(stored.split('$')[3]);
    expect(await hasher.verify('testpass', again)).toBe(true);
  });

  test('RFC 6749 §2.3.1: verify accepts the right secret', async () => {
    expect(await hasher.verify('testpass', stored)).toBe(true);
  });

  test.each(['testpasS', 'testpas', 'testpass ', '', 'TESTPASS'])(
    'RFC 6749 §2.3.1: verify refuses a wrong secret %j',
    async (secret) => {
      expect(await hasher.verify(secret, stored)).toBe(false);
    },
  );

  test('a tampered key is refused', async () => {
    const parts = stored.split('$');
    // ['', 'scrypt', params, salt, key]
    const key = parts[4];
    const flipped = (key[0] === 'A' ? 'B' : 'A') + key.slice(1);
    const tampered = [...parts.slice(0, 4), flipped].join('$');
    expect(tampered).not.toBe(stored);
    expect(hasher.isHash(tampered)).toBe(true);
    expect(await hasher.verify('testpass', tampered)).toBe(false);
  });

  test('a tampered salt is refused', async () => {
    const parts = stored.split('$');
    const salt = parts[3];
    const flipped = (salt[0] === 'A' ? 'B' : 'A') + salt.slice(1);
    const tampered = [...parts.slice(0, 3), flipped, parts[4]].join('$');
    expect(tampered).not.toBe(stored);
    expect(hasher.isHash(tampered)).toBe(true);
    expect(await hasher.verify('testpass', tampered)).toBe(false);
  });

  test.each([
    ['a lower cost', 'ln=14,r=8,p=1'],
    ['another block size', 'ln=15,r=4,p=1'],
    ['another parallelism', 'ln=15,r=8,p=2'],
    ['a cost below the floor', 'ln=9,r=8,p=1'],
    ['a cost above the ceiling', 'ln=21,r=8,p=1'],
    ['r = 0', 'ln=15,r=0,p=1'],
    ['p = 0', 'ln=15,r=8,p=0'],
    ['r above the ceiling', 'ln=15,r=33,p=1'],
    ['p above the ceiling', 'ln=15,r=8,p=17'],
  ])('tampered parameters (%s) are refused without a throw', async (_name, params) => {
    await expect(hasher.verify('testpass', stored.replace('ln=15,r=8,p=1', params))).resolves.toBe(
      false,
    );
  });

  test.each([
    ['empty', ''],
    ['garbage', 'not a hash'],
    ['plain text secret', 'testpass'],
    ['bcrypt', '$2y$10$abcdefghijklmnopqrstuuJ9nLq8VZ7r8xV9y1uJHk0mH8b1oK2e2'],
    [
      'wrong algorithm',
      '$argon2id$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ],
    ['short key', '$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA'],
    [
      'padded base64',
      '$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ],
    [
      'trailing data',
      `$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$`,
    ],
    [
      'params reordered',
      '$scrypt$r=8,ln=15,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ],
  ])('an unreadable stored value (%s) is false, never a throw', async (_name, value) => {
    expect(hasher.isHash(value)).toBe(false);
    await expect(hasher.verify('testpass', value)).resolves.toBe(false);
  });

  test('tampered stored value with a trailing newline is refused', async () => {
    expect(hasher.isHash(`${stored}\n`)).toBe(false);
    expect(await hasher.verify('testpass', `${stored}\n`)).toBe(false);
  });

  test('generate(): 256 random bits, 43 characters of base64url', () => {
    const secret = hasher.generate();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secret, 'base64url').length).toBe(32);
  });

  test('generate(): unique', () => {
    const secrets = new Set(Array.from({ length: 200 }, () => hasher.generate()));
    expect(secrets.size).toBe(200);
  });

  test('verifyDummy() returns false and reuses one dummy digest', async () => {
    const dummy = new ClientSecretHasher({ minSecretLength: 1 });
    const digest = jest.spyOn(dummy, 'digestGenerated');
    const verify = jest.spyOn(dummy, 'verify');
    scrypt.mockClear();
    expect(await dummy.verifyDummy('testpass')).toBe(false);
    expect(await dummy.verifyDummy('')).toBe(false);
    expect(digest).toHaveBeenCalledTimes(1);
    // The work of verifying a generated secret (RFC 6819 §5.1.4.2.2: no timing oracle), cheap enough that
    // made-up client ids cannot exhaust the CPU.
    expect(verify).toHaveBeenCalledTimes(2);
    expect(verify.mock.calls[0][0]).toBe('testpass');
    expect(verify.mock.calls[0][1]).toMatch(HMAC);
    // One HMAC, not the KDF: cheaper than a wrong secret for a scrypt client (the known gap pinned in
    // test/token.e2e-spec.ts).
    expect(scrypt).not.toHaveBeenCalled();
  });

  test('a unicode secret round-trips (hashed as UTF-8)', async () => {
    const secret = 'pässwörd 🔑 密码';
    const hashed = await hasher.hash(secret);
    expect(hashed).toMatch(PHC);
    expect(await hasher.verify(secret, hashed)).toBe(true);
    // NFD form of the same text is other bytes, so another secret.
    expect(await hasher.verify(secret.normalize('NFD'), hashed)).toBe(false);
  });

  test('a generated secret round-trips', async () => {
    const secret = hasher.generate();
    expect(await hasher.verify(secret, await hasher.hash(secret))).toBe(true);
  });
});

describe('stored cost is bounded: scrypt is never called past the cap', () => {
  const hasher = new ClientSecretHasher({ minSecretLength: 1 });
  /** A readable PHC string with these parameters; salt and key all zero bits. */
  const storedWith = (params: string) => `$scrypt$${params}$${'A'.repeat(22)}$${'A'.repeat(32)}`;

  beforeEach(() => {
    // Also drops a one-off answer a failed test left unused.
    scrypt.mockReset();
    scrypt.mockImplementation(realScrypt);
  });

  test.each([
    ['128·N·r beyond 64 MiB (ln=17, r=8)', 'ln=17,r=8,p=1'],
    ['128·N·r beyond 64 MiB (ln=16, r=9)', 'ln=16,r=9,p=1'],
    ['128·N·r beyond 64 MiB (ln=13, r=99)', 'ln=13,r=99,p=1'],
    ['ln far above the cap (ln=99)', 'ln=99,r=1,p=1'],
    ['p above 4 (p=5)', 'ln=10,r=1,p=5'],
    ['p above 4 (p=99)', 'ln=10,r=1,p=99'],
    ['ln below the floor (ln=9)', 'ln=9,r=8,p=1'],
    ['r = 0', 'ln=15,r=0,p=1'],
    ['p = 0', 'ln=15,r=8,p=0'],
  ])('%s: false, and scrypt is not called', async (_name, params) => {
    expect(hasher.isHash(storedWith(params))).toBe(true);
    await expect(hasher.verify('secret', storedWith(params))).resolves.toBe(false);
    expect(scrypt).not.toHaveBeenCalled();
  });

  test.each([
    ['128·N·r exactly 64 MiB (ln=16, r=8)', 'ln=16,r=8,p=1', { N: 2 ** 16, r: 8, p: 1 }],
    ['p = 4', 'ln=10,r=1,p=4', { N: 2 ** 10, r: 1, p: 4 }],
    ['the floor (ln=10)', 'ln=10,r=8,p=1', { N: 2 ** 10, r: 8, p: 1 }],
  ])('%s is within the cap: scrypt runs with those parameters', async (_name, params, cost) => {
    // Answer for scrypt: the cap's edge costs up to 64 MiB, and only the call matters here.
    scrypt.mockImplementationOnce((_password, _salt, keylen, _options, callback) =>
      callback(null, Buffer.alloc(keylen)),
    );
    await expect(hasher.verify('secret', storedWith(params))).resolves.toBe(true);
    expect(scrypt).toHaveBeenCalledTimes(1);
    expect(scrypt.mock.calls[0][3]).toMatchObject(cost);
  });

  test('our own cost reaches the real scrypt', async () => {
    const stored = await hasher.hash('secret');
    scrypt.mockClear();
    await expect(hasher.verify('secret', stored)).resolves.toBe(true);
    expect(scrypt).toHaveBeenCalledTimes(1);
  });
});

describe('generated secrets: keyed digest', () => {
  const pepper = 'a pepper of at least thirty-two bytes';

  test('createSecret(): a 43-character secret and an HMAC digest that fits VARCHAR(80)', async () => {
    const hasher = new ClientSecretHasher({ minSecretLength: 1 });
    const { secret, hash } = hasher.createSecret();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hash).toMatch(/^\$hmac-sha256\$k=0\$[A-Za-z0-9+/]{43}$/);
    expect(hash.length).toBeLessThanOrEqual(80);
    expect(hasher.kindOf(hash)).toBe('hmac');
    expect(await hasher.verify(secret, hash)).toBe(true);
    expect(await hasher.verify(secret + 'x', hash)).toBe(false);
  });

  test('with a pepper, the digest names it and needs it', async () => {
    const peppered = new ClientSecretHasher({ pepper });
    const { secret, hash } = peppered.createSecret();
    expect(hash).toMatch(/^\$hmac-sha256\$k=[A-Za-z0-9_-]{8}\$/);
    expect(await peppered.verify(secret, hash)).toBe(true);
    expect(await new ClientSecretHasher({ minSecretLength: 1 }).verify(secret, hash)).toBe(false);
    expect(await new ClientSecretHasher({ pepper: pepper + '!' }).verify(secret, hash)).toBe(false);
  });

  test('pepper rotation: digests made with a previous pepper still verify', async () => {
    const old = new ClientSecretHasher({ pepper });
    const { secret, hash } = old.createSecret();
    const rotated = new ClientSecretHasher({
      pepper: 'the next pepper, also thirty-two bytes',
      previousPeppers: [pepper],
    });
    expect(await rotated.verify(secret, hash)).toBe(true);
    expect(rotated.createSecret().hash.slice(0, 24)).not.toBe(hash.slice(0, 24));
  });

  test('unpeppered digests keep verifying once a pepper is configured', async () => {
    const { secret, hash } = new ClientSecretHasher({ minSecretLength: 1 }).createSecret();
    expect(await new ClientSecretHasher({ pepper }).verify(secret, hash)).toBe(true);
  });

  test('a short pepper is refused', () => {
    expect(() => new ClientSecretHasher({ pepper: 'short' })).toThrow(/at least 32 bytes/);
  });

  test('kindOf tells hashes from legacy plaintext', async () => {
    const hasher = new ClientSecretHasher({ minSecretLength: 1 });
    expect(hasher.kindOf(await hasher.hash('x'))).toBe('scrypt');
    expect(hasher.kindOf('testpass')).toBe('unknown');
    expect(hasher.isHash('testpass')).toBe(false);
  });

  test('verifyPlaintext compares exactly', () => {
    const hasher = new ClientSecretHasher({ minSecretLength: 1 });
    expect(hasher.verifyPlaintext('testpass', 'testpass')).toBe(true);
    expect(hasher.verifyPlaintext('testpass', 'testpas')).toBe(false);
    expect(hasher.verifyPlaintext('Testpass', 'testpass')).toBe(false);
    expect(hasher.verifyPlaintext('', '')).toBe(true);
  });
});

describe('checkSecretPepper: at least 32 bytes of UTF-8, not 32 characters', () => {
  test.each([
    ['16 × é: 16 characters, 32 bytes', 'é'.repeat(16)],
    ['exactly 32 ASCII bytes', 'p'.repeat(32)],
    ['31 ASCII bytes and one é: 33 bytes', `${'p'.repeat(31)}é`],
  ])('%s → accepted, as its UTF-8 bytes', (_name, pepper) => {
    const key = checkSecretPepper(pepper, 'PEPPER');
    expect(Buffer.isBuffer(key)).toBe(true);
    expect(key.equals(Buffer.from(pepper, 'utf8'))).toBe(true);
  });

  test.each([
    ['15 × é and one ASCII byte: 31 bytes', `${'é'.repeat(15)}p`],
    ['31 ASCII bytes', 'p'.repeat(31)],
    ['empty', ''],
  ])('%s → refused, naming the setting', (_name, pepper) => {
    expect(() => checkSecretPepper(pepper, 'PEPPER')).toThrow(
      new Error('PEPPER needs at least 32 bytes'),
    );
  });

  test('a Buffer pepper is taken as it is: 32 bytes accepted, 31 refused', () => {
    const key = Buffer.alloc(32, 0xff);
    expect(checkSecretPepper(key, 'PEPPER').equals(Buffer.alloc(32, 0xff))).toBe(true);
    expect(() => checkSecretPepper(Buffer.alloc(31, 0xff), 'PEPPER')).toThrow(
      'PEPPER needs at least 32 bytes',
    );
  });

  test('the hasher applies the same rule to its pepper and previous peppers', async () => {
    expect(() => new ClientSecretHasher({ pepper: 'é'.repeat(15) + 'p' })).toThrow(
      /at least 32 bytes/,
    );
    expect(
      () => new ClientSecretHasher({ pepper: 'é'.repeat(16), previousPeppers: ['p'.repeat(31)] }),
    ).toThrow(/at least 32 bytes/);
    const peppered = new ClientSecretHasher({ pepper: Buffer.alloc(32, 7) });
    const { secret, hash } = peppered.createSecret();
    expect(await peppered.verify(secret, hash)).toBe(true);
  });
});

describe('generated secrets under a pepper', () => {
  const pepper = 'é'.repeat(16);

  test('a hasher with a pepper verifies its own digestGenerated() output', async () => {
    const hasher = new ClientSecretHasher({ pepper });
    const secret = hasher.generate();
    const digest = hasher.digestGenerated(secret);
    expect(digest).toMatch(/^\$hmac-sha256\$k=[A-Za-z0-9_-]{8}\$[A-Za-z0-9+/]{43}$/);
    expect(digest).not.toBe(new ClientSecretHasher({ minSecretLength: 1 }).digestGenerated(secret));
    expect(await hasher.verify(secret, digest)).toBe(true);
    expect(await hasher.verify(`${secret}x`, digest)).toBe(false);
  });

  test('with previous peppers, new digests are made under the current one', async () => {
    const previous = 'the previous pepper, thirty-two bytes';
    const hasher = new ClientSecretHasher({ pepper, previousPeppers: [previous] });
    const { secret, hash } = hasher.createSecret();
    expect(hash).toBe(new ClientSecretHasher({ pepper }).digestGenerated(secret));
    expect(await new ClientSecretHasher({ pepper: previous }).verify(secret, hash)).toBe(false);
  });

  test('a digest made under a previous pepper verifies; one made under an unknown pepper does not', async () => {
    const previous = 'the previous pepper, thirty-two bytes';
    const rotated = new ClientSecretHasher({ pepper, previousPeppers: [previous] });
    const secret = rotated.generate();
    expect(
      await rotated.verify(
        secret,
        new ClientSecretHasher({ pepper: previous }).digestGenerated(secret),
      ),
    ).toBe(true);
    const elsewhere = new ClientSecretHasher({ pepper: 'another pepper, also thirty-two bytes' });
    expect(await rotated.verify(secret, elsewhere.digestGenerated(secret))).toBe(false);
    expect(await elsewhere.verify(secret, rotated.digestGenerated(secret))).toBe(false);
  });
});

describe('ClientSecretHasher: several chosen secrets of one client', () => {
  const hasher = new ClientSecretHasher({ minSecretLength: 1 });

  test('sameSaltAs takes the salt and cost of the given hash; one derivation checks the whole group', async () => {
    const first = await hasher.hash('first secret');
    const second = await hasher.hash('second secret', { sameSaltAs: first });
    expect(second).toMatch(PHC);
    expect(hasher.scryptGroupOf(second)).toBe(hasher.scryptGroupOf(first));
    expect(second).not.toBe(first);
    scrypt.mockClear();
    expect(await hasher.verifyScryptGroup('second secret', [first, second])).toBe(1);
    expect(await hasher.verifyScryptGroup('first secret', [first, second])).toBe(0);
    expect(await hasher.verifyScryptGroup('neither', [first, second])).toBe(-1);
    expect(scrypt).toHaveBeenCalledTimes(3);
    expect(await hasher.verify('second secret', second)).toBe(true);
  });

  test('without sameSaltAs, or with a value that is no scrypt hash, the salt is new', async () => {
    const first = await hasher.hash('s');
    expect(hasher.scryptGroupOf(await hasher.hash('s'))).not.toBe(hasher.scryptGroupOf(first));
    const digest = hasher.digestGenerated(hasher.generate());
    const fresh = await hasher.hash('s', { sameSaltAs: digest });
    expect(fresh).toMatch(PHC);
    expect(hasher.scryptGroupOf(digest)).toBeUndefined();
  });

  test('a group of hashes with different salts is refused, not checked against the first salt', async () => {
    const a = await hasher.hash('a');
    const b = await hasher.hash('b');
    await expect(hasher.verifyScryptGroup('a', [a, b])).rejects.toThrow('same cost and salt');
    await expect(hasher.verifyScryptGroup('a', [])).rejects.toThrow('same cost and salt');
  });
});

describe('ClientSecretHasher: the pepper keys scrypt too, and foreign hashes are never plaintext', () => {
  const pepper = 'a pepper of at least thirty-two bytes!';

  test('a peppered scrypt hash names its pepper, fits VARCHAR(80), and needs that pepper to verify', async () => {
    const peppered = new ClientSecretHasher({ pepper });
    const stored = await peppered.hash('a chosen secret of some length');
    expect(stored).toMatch(
      /^\$scrypt\$k=[A-Za-z0-9_-]{4},ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{28}$/,
    );
    expect(stored).toHaveLength(80);
    expect(await peppered.verify('a chosen secret of some length', stored)).toBe(true);
    expect(await new ClientSecretHasher().verify('a chosen secret of some length', stored)).toBe(
      false,
    );
    const rotated = new ClientSecretHasher({
      pepper: 'the next pepper, thirty-two bytes!',
      previousPeppers: [pepper],
    });
    expect(await rotated.verify('a chosen secret of some length', stored)).toBe(true);
    expect(rotated.needsUpgrade(stored)).toBe(true);
    expect(peppered.needsUpgrade(stored)).toBe(false);
  });

  test('unpeppered hashes need an upgrade once a pepper is configured, not before', async () => {
    const plain = new ClientSecretHasher();
    const digest = plain.digestGenerated(plain.generate());
    const scrypt = await plain.hash('a chosen secret of some length');
    expect(plain.needsUpgrade(digest) || plain.needsUpgrade(scrypt)).toBe(false);
    const peppered = new ClientSecretHasher({ pepper });
    expect(peppered.needsUpgrade(digest)).toBe(true);
    expect(peppered.needsUpgrade(scrypt)).toBe(true);
    expect(await peppered.verify('a chosen secret of some length', scrypt)).toBe(true);
  });

  test.each([
    '$2y$10$abcdefghijklmnopqrstuv',
    '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
    '$1$salt$hash',
  ])('%s is another scheme’s hash: foreign, never plaintext, never ours', (stored) => {
    const hasher = new ClientSecretHasher();
    expect(hasher.kindOf(stored)).toBe('foreign');
    expect(hasher.isHash(stored)).toBe(false);
  });

  test('minSecretLength refuses a short chosen secret unless it is a legacy import', async () => {
    const hasher = new ClientSecretHasher();
    await expect(hasher.hash('testpass')).rejects.toThrow(
      'a chosen client secret needs at least 20 characters',
    );
    expect(await hasher.hash('testpass', { legacyImport: true })).toMatch(PHC);
  });
});
