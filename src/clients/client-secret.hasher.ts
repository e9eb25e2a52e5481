import { Injectable } from '@nestjs/common';
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, tens of milliseconds; RFC 7914, OWASP's minimum tier). */
const DEFAULT_COST = { ln: 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const MAX_SCRYPT_MEMORY = 64 * 1024 * 1024;
/**
 * 192-bit derived key: with the salt and parameters the PHC string is 77 characters, so it fits the seed's
 * client_secret VARCHAR(80) and a legacy table can be upgraded in place.
 */
const KEY_BYTES = 24;
const PHC_SCRYPT =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{32})$/;

function scryptAsync(secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEY_BYTES, options, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

function costOptions(ln: number, r: number, p: number): ScryptOptions {
  // Node's default maxmem (32 MiB) is exactly 128·N·r at our cost; leave headroom.
  return { N: 2 ** ln, r, p, maxmem: 256 * 2 ** ln * r + 1024 * 1024 };
}

const b64 = (buffer: Buffer) => buffer.toString('base64').replace(/=+$/, '');

/**
 * Hashes and verifies client secrets. Stored form: a PHC string
 * `$scrypt$ln=15,r=8,p=1$<salt>$<key>`, self-describing so the cost can rise without breaking stored rows.
 * scrypt runs on libuv's thread pool and never blocks the event loop.
 */
@Injectable()
export class ClientSecretHasher {
  private dummyHash?: Promise<string>;

  /** A new secret: 256 random bits, base64url (43 characters). */
  generate(): string {
    return randomBytes(32).toString('base64url');
  }

  async hash(secret: string): Promise<string> {
    const { ln, r, p } = DEFAULT_COST;
    const salt = randomBytes(SALT_BYTES);
    const key = await scryptAsync(secret, salt, costOptions(ln, r, p));
    return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
  }

  /** Whether a stored value is in a format this hasher reads. */
  isHash(stored: string): boolean {
    return PHC_SCRYPT.test(stored);
  }

  /** Constant-time check of a presented secret against a stored hash; false for anything unreadable. */
  async verify(secret: string, stored: string): Promise<boolean> {
    const match = PHC_SCRYPT.exec(stored);
    if (!match) return false;
    const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
    // A stored value must not be able to demand unbounded work or memory (128·N·r bytes).
    if (ln < 10 || r < 1 || p < 1 || p > 4 || 128 * 2 ** ln * r > MAX_SCRYPT_MEMORY) return false;
    const expected = Buffer.from(match[5], 'base64');
    const actual = await scryptAsync(
      secret,
      Buffer.from(match[4], 'base64'),
      costOptions(ln, r, p),
    );
    return timingSafeEqual(actual, expected);
  }

  /**
   * Does the work of a real verification and returns false: used for unknown clients, so the response time
   * does not tell which client ids exist.
   */
  async verifyDummy(secret: string): Promise<false> {
    this.dummyHash ??= this.hash(randomBytes(32).toString('base64url'));
    await this.verify(secret, await this.dummyHash);
    return false;
  }
}
