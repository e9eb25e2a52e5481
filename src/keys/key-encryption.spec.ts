import { describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { KeyEncryptor, parseKeyEncryptionKey } from './key-encryption.js';
import { OAuth2KeyStoreError } from './key-store-error.js';

const kek = randomBytes(32);
const oldKek = randomBytes(32);
const plaintext = Buffer.from('a PKCS#8 private key, as DER');
const KID = 'kid-1';
const SEALED_FORMAT =
  /^\$aes-256-gcm\$v=1,k=([A-Za-z0-9_-]{11})\$([A-Za-z0-9_-]{16})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]{22})$/;

/** The error a failed open throws, for its code and message. */
function openError(encryptor: KeyEncryptor, kid: string, sealed: string): OAuth2KeyStoreError {
  try {
    encryptor.open(kid, sealed);
  } catch (error) {
    expect(error).toBeInstanceOf(OAuth2KeyStoreError);
    return error as OAuth2KeyStoreError;
  }
  throw new Error('the sealed key opened');
}

/** The sealed string with one base64url character of part `index` (1 = iv … 3 = tag) changed. */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('$');
  const part = parts[index + 2];
  parts[index + 2] = (part[0] === 'A' ? 'B' : 'A') + part.slice(1);
  return parts.join('$');
}

describe('parseKeyEncryptionKey', () => {
  test('64+ hex characters: the bytes they spell', () => {
    expect(parseKeyEncryptionKey('ab'.repeat(32), 'K')).toEqual(Buffer.alloc(32, 0xab));
    expect(parseKeyEncryptionKey(' ' + 'AB'.repeat(40) + '\n', 'K')).toEqual(
      Buffer.alloc(40, 0xab),
    );
  });

  test('base64 and base64url of 32+ bytes', () => {
    const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => 250 - i));
    expect(parseKeyEncryptionKey(bytes.toString('base64'), 'K')).toEqual(bytes);
    expect(parseKeyEncryptionKey(bytes.toString('base64url'), 'K')).toEqual(bytes);
  });

  test('a Buffer of 32+ bytes is taken as it is', () => {
    const bytes = randomBytes(48);
    expect(parseKeyEncryptionKey(bytes, 'K')).toBe(bytes);
  });

  test.each([
    ['62 hex characters', 'ab'.repeat(31)],
    ['an odd number of hex characters', 'a'.repeat(65)],
    ['base64 of 31 bytes', randomBytes(31).toString('base64')],
    ['a passphrase', 'correct horse battery staple, and then some more words'],
    ['empty', ''],
  ])('%s is refused, the message naming the setting and not quoting the value', (_name, text) => {
    let message = '';
    try {
      parseKeyEncryptionKey(text, 'OAUTH2_KEY_ENCRYPTION_KEY');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^OAUTH2_KEY_ENCRYPTION_KEY must be a random key of at least 32 bytes/);
    expect(text === '' || !message.includes(text)).toBe(true);
  });

  test('a short Buffer is refused', () => {
    expect(() => parseKeyEncryptionKey(Buffer.alloc(31), '`keyEncryptionKey`')).toThrow(
      '`keyEncryptionKey` must be a random key of at least 32 bytes, not 31',
    );
  });
});

describe('KeyEncryptor (AES-256-GCM, NIST SP 800-38D)', () => {
  const encryptor = new KeyEncryptor(kek);

  test('seals in the versioned format naming the KEK, and opens it again', () => {
    const sealed = encryptor.seal(KID, plaintext);
    const [, id] = SEALED_FORMAT.exec(sealed) ?? [];
    expect(id).toBe(encryptor.keyEncryptionKeyId);
    expect(sealed).not.toContain(plaintext.toString('base64url').slice(0, 12));
    expect(encryptor.open(KID, sealed)).toEqual(plaintext);
  });

  test('a random IV per key: sealing twice gives two ciphertexts', () => {
    const first = encryptor.seal(KID, plaintext).split('$');
    const second = encryptor.seal(KID, plaintext).split('$');
    expect(first[3]).not.toBe(second[3]);
    expect(first[4]).not.toBe(second[4]);
  });

  test('the KEK id is short, stable and reveals nothing of the KEK', () => {
    const id = encryptor.keyEncryptionKeyId;
    expect(id).toMatch(/^[A-Za-z0-9_-]{11}$/);
    expect(new KeyEncryptor(Buffer.from(kek)).keyEncryptionKeyId).toBe(id);
    expect(new KeyEncryptor(oldKek).keyEncryptionKeyId).not.toBe(id);
    expect(kek.toString('base64url')).not.toContain(id);
    expect(kek.toString('hex')).not.toContain(Buffer.from(id, 'base64url').toString('hex'));
  });

  test.each([
    ['the IV', 1],
    ['the ciphertext', 2],
    ['the tag', 3],
  ])('a change to %s fails to open', (_part, index) => {
    const error = openError(encryptor, KID, tamper(encryptor.seal(KID, plaintext), index));
    expect(error.code).toBe('key_not_opened');
    expect(error.message).toBe(
      `signing key "${KID}" does not open with the key encryption key k=${encryptor.keyEncryptionKeyId}: ` +
        'it was altered, or belongs to another kid',
    );
  });

  test('the kid is the AAD: a sealed key moved to another kid fails to open', () => {
    const error = openError(encryptor, 'kid-2', encryptor.seal(KID, plaintext));
    expect(error.code).toBe('key_not_opened');
    expect(error.message).toContain('signing key "kid-2" does not open');
  });

  test('a key sealed by an unknown KEK: the message names the kid, both KEK ids and the settings', () => {
    const other = new KeyEncryptor(oldKek);
    const error = openError(encryptor, KID, other.seal(KID, plaintext));
    expect(error.code).toBe('key_not_opened');
    expect(error.message).toBe(
      `signing key "${KID}" was sealed with the key encryption key k=${other.keyEncryptionKeyId}, which ` +
        `is neither keyEncryptionKey (k=${encryptor.keyEncryptionKeyId}) nor one of previousKeyEncryptionKeys`,
    );
  });

  test('the settings are named as the caller says (environment variables, for the CLI)', () => {
    const named = new KeyEncryptor(kek, [], { current: 'OAUTH2_KEK', previous: 'OAUTH2_OLD_KEKS' });
    const error = openError(named, KID, new KeyEncryptor(oldKek).seal(KID, plaintext));
    expect(error.message).toMatch(/neither OAUTH2_KEK \(k=.+\) nor one of OAUTH2_OLD_KEKS$/);
  });

  test('rotation: a previous KEK still opens its keys; new keys are sealed with the current one', () => {
    const sealedBefore = new KeyEncryptor(oldKek).seal(KID, plaintext);
    const rotated = new KeyEncryptor(kek, [oldKek]);
    expect(rotated.open(KID, sealedBefore)).toEqual(plaintext);
    const sealedAfter = rotated.seal(KID, plaintext);
    expect(SEALED_FORMAT.exec(sealedAfter)?.[1]).toBe(encryptor.keyEncryptionKeyId);
    expect(encryptor.open(KID, sealedAfter)).toEqual(plaintext);
    expect(openError(new KeyEncryptor(oldKek), KID, sealedAfter).code).toBe('key_not_opened');
  });

  test('anything not in the format is refused, not guessed at', () => {
    for (const sealed of ['', 'plain PEM', encryptor.seal(KID, plaintext).replace('v=1', 'v=2')]) {
      expect(openError(encryptor, KID, sealed).message).toBe(
        `signing key "${KID}" is not sealed in a format this version reads ($aes-256-gcm$v=1)`,
      );
    }
  });
});
