import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { OAuth2KeyStoreError } from './key-store-error.js';

const MIN_KEK_BYTES = 32;
/** NIST SP 800-38D §8.2.2: a random 96-bit IV per message. */
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEK_ID_BYTES = 8;
/**
 * `$aes-256-gcm$v=1,k=<kek id>$<iv>$<ciphertext>$<tag>`, each part base64url. `v=1` fixes the whole recipe:
 * the AES key and the id are HKDF-SHA-256 derivations of the key encryption key, the AAD is the kid.
 */
const SEALED =
  /^\$aes-256-gcm\$v=1,k=([A-Za-z0-9_-]{11})\$([A-Za-z0-9_-]{16})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]{22})$/;
const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+)$/;

/**
 * The one rule of a key encryption key, for the module, the example app and the CLI: at least 32 bytes,
 * written as 64+ hex characters or as base64 (standard or URL-safe); a Buffer is taken as the bytes. The
 * message names the setting and never quotes the value.
 */
export function parseKeyEncryptionKey(input: string | Buffer, name: string): Buffer {
  const problem = `${name} must be a random key of at least ${MIN_KEK_BYTES} bytes`;
  if (Buffer.isBuffer(input)) {
    if (input.length < MIN_KEK_BYTES) throw new Error(`${problem}, not ${input.length}`);
    return input;
  }
  if (typeof input !== 'string') throw new Error(`${problem}: 64+ hex characters or base64`);
  const text = input.trim();
  // 64 hex digits are also valid base64 (of 48 bytes): hex wins, as `openssl rand -hex 32` writes it.
  if (HEX.test(text)) {
    if (text.length < 2 * MIN_KEK_BYTES || text.length % 2 !== 0) {
      throw new Error(`${problem}: an even number of hex characters, at least 64`);
    }
    return Buffer.from(text, 'hex');
  }
  const bytes = BASE64.test(text) ? Buffer.from(text, 'base64') : Buffer.alloc(0);
  if (bytes.length < MIN_KEK_BYTES) {
    throw new Error(`${problem}: 64+ hex characters or base64 (e.g. \`openssl rand -hex 32\`)`);
  }
  return bytes;
}

interface Kek {
  id: string;
  aesKey: Buffer;
}

const derive = (kek: Buffer, info: string, bytes: number): Buffer =>
  Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), info, bytes));

function kekOf(key: Buffer): Kek {
  return {
    // A short name of the key that reveals nothing of it, and differs from the id a client-secret pepper
    // of the same bytes would get (another HKDF label).
    id: derive(key, 'nest-oauth2 key encryption key id', KEK_ID_BYTES).toString('base64url'),
    aesKey: derive(key, 'nest-oauth2 signing key encryption v1', 32),
  };
}

/** How error messages name the key encryption key settings: the module's options, or environment variables. */
export interface KeyEncryptionKeyNames {
  current: string;
  previous: string;
}

/**
 * Seals private signing keys for storage with AES-256-GCM (NIST SP 800-38D) under a key encryption key (KEK):
 * a random 96-bit IV per key, the kid as additional authenticated data (a sealed key moved to another row does
 * not open), and the id of the KEK in the output, so a store sealed under several KEKs stays readable while
 * they rotate. New keys are sealed with the current KEK; previous KEKs only open.
 */
export class KeyEncryptor {
  private readonly current: Kek;
  private readonly byId: ReadonlyMap<string, Kek>;

  constructor(
    current: Buffer,
    previous: readonly Buffer[] = [],
    private readonly names: KeyEncryptionKeyNames = {
      current: 'keyEncryptionKey',
      previous: 'previousKeyEncryptionKeys',
    },
  ) {
    this.current = kekOf(current);
    this.byId = new Map([...previous.map(kekOf), this.current].map((kek) => [kek.id, kek]));
  }

  /** The id of the current KEK, as sealed keys name it. */
  get keyEncryptionKeyId(): string {
    return this.current.id;
  }

  seal(kid: string, plaintext: Buffer): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.aesKey, iv, {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(Buffer.from(kid, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const parts = [iv, ciphertext, cipher.getAuthTag()].map((part) => part.toString('base64url'));
    return `$aes-256-gcm$v=1,k=${this.current.id}$${parts.join('$')}`;
  }

  /** The plaintext of a sealed key; throws `key_not_opened` naming the kid and the KEK that sealed it. */
  open(kid: string, sealed: string): Buffer {
    const match = SEALED.exec(sealed);
    if (!match) {
      throw new OAuth2KeyStoreError(
        'key_not_opened',
        `signing key "${kid}" is not sealed in a format this version reads ($aes-256-gcm$v=1)`,
      );
    }
    const [, id, iv, ciphertext, tag] = match;
    const kek = this.byId.get(id);
    if (!kek) {
      throw new OAuth2KeyStoreError(
        'key_not_opened',
        `signing key "${kid}" was sealed with the key encryption key k=${id}, which is neither ` +
          `${this.names.current} (k=${this.current.id}) nor one of ${this.names.previous}`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', kek.aesKey, Buffer.from(iv, 'base64url'), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(kid, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]);
    } catch {
      throw new OAuth2KeyStoreError(
        'key_not_opened',
        `signing key "${kid}" does not open with the key encryption key k=${id}: ` +
          'it was altered, or belongs to another kid',
      );
    }
  }
}
