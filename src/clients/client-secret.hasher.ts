import {
  createHash,
  createHmac,
  randomBytes,
  scrypt,
  timingSafeEqual,
  type ScryptOptions,
} from 'node:crypto';

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
const PHC_HMAC = /^\$hmac-sha256\$k=([A-Za-z0-9_-]{1,16})\$([A-Za-z0-9+/]{43})$/;
/** Key id of the HMAC format when no pepper is configured (the key is then empty). */
const NO_PEPPER = '0';
const GENERATED_SECRET_BYTES = 32;
const MIN_PEPPER_BYTES = 32;

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

/** Options of ClientSecretHasher. */
export interface ClientSecretHasherOptions {
  /**
   * A server-side secret (at least 32 bytes) keying the digest of generated secrets, kept out of the
   * database: a stolen table alone then cannot even confirm a guessed secret. @default none
   */
  pepper?: string | Buffer;
  /** Former peppers, still accepted for digests made with them (rotation). @default none */
  previousPeppers?: ReadonlyArray<string | Buffer>;
}

/** Which kind of stored value a client secret column holds. */
export type StoredSecretKind = 'scrypt' | 'hmac' | 'unknown';

interface Pepper {
  id: string;
  key: Buffer;
}

/** The rule of a pepper, for every caller (hasher, example app, CLI): at least 32 bytes. */
export function checkSecretPepper(input: string | Buffer, name: string): Buffer {
  const key = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (key.length < MIN_PEPPER_BYTES) {
    throw new Error(`${name} needs at least ${MIN_PEPPER_BYTES} bytes`);
  }
  return key;
}

function pepperOf(input: string | Buffer): Pepper {
  const key = checkSecretPepper(input, 'ClientSecretHasher: a pepper');
  // The id names the pepper in stored digests without revealing it.
  const id = createHash('sha256').update(key).digest('base64url').slice(0, 8);
  return { id, key };
}

/**
 * Hashes and verifies client secrets, in self-describing PHC-style strings of at most 80 characters:
 *
 * - `$hmac-sha256$k=<pepper id>$<mac>` for secrets the library generates (256 random bits): no amount of
 *   stretching adds to that entropy, so a keyed digest is as safe as a KDF and verifies in microseconds.
 * - `$scrypt$ln=15,r=8,p=1$<salt>$<key>` for secrets a person chose, which need a memory-hard KDF. scrypt
 *   runs on libuv's thread pool, not the event loop.
 *
 * Every comparison is constant-time.
 */
export class ClientSecretHasher {
  private readonly pepper: Pepper | undefined;
  private readonly peppers: ReadonlyMap<string, Buffer>;
  private dummyHash?: string;

  constructor(options: ClientSecretHasherOptions = {}) {
    this.pepper = options.pepper === undefined ? undefined : pepperOf(options.pepper);
    const all = [
      ...(this.pepper ? [this.pepper] : []),
      ...(options.previousPeppers ?? []).map(pepperOf),
    ];
    this.peppers = new Map([
      [NO_PEPPER, Buffer.alloc(0)],
      ...all.map((p) => [p.id, p.key] as const),
    ]);
  }

  /** A new secret: 256 random bits, base64url (43 characters). Store it with `digestGenerated()`. */
  generate(): string {
    return randomBytes(GENERATED_SECRET_BYTES).toString('base64url');
  }

  /** A new secret and its stored form, in one step. */
  createSecret(): { secret: string; hash: string } {
    const secret = this.generate();
    return { secret, hash: this.digestGenerated(secret) };
  }

  /** The stored form of a secret from `generate()`: a keyed digest. Never use it for a chosen secret. */
  digestGenerated(secret: string): string {
    const id = this.pepper?.id ?? NO_PEPPER;
    return `$hmac-sha256$k=${id}$${b64(this.mac(this.peppers.get(id)!, secret))}`;
  }

  /**
   * The stored form of a secret a person chose: scrypt. With `sameSaltAs` (another scrypt hash of the same
   * client), the new hash takes that hash's salt and cost, so one derivation checks a presented secret against
   * both (`verifyScryptGroup`): a client holding several chosen secrets during a rotation costs one KDF run per
   * request, not one per secret. Sharing a salt between two secrets of one client only lets a thief of the
   * table try one guess against both at once; the salt still differs from every other client's.
   */
  async hash(secret: string, options: { sameSaltAs?: string } = {}): Promise<string> {
    const same = options.sameSaltAs === undefined ? null : PHC_SCRYPT.exec(options.sameSaltAs);
    const [ln, r, p] = same
      ? [Number(same[1]), Number(same[2]), Number(same[3])]
      : [DEFAULT_COST.ln, DEFAULT_COST.r, DEFAULT_COST.p];
    const salt = same ? Buffer.from(same[4], 'base64') : randomBytes(SALT_BYTES);
    const key = await scryptAsync(secret, salt, costOptions(ln, r, p));
    return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
  }

  /**
   * What scrypt hashes share when one derivation checks them all: the cost and salt, `$scrypt$ln=…$<salt>`.
   * Undefined for anything but a scrypt hash.
   */
  scryptGroupOf(stored: string): string | undefined {
    const match = PHC_SCRYPT.exec(stored);
    return match ? stored.slice(0, stored.length - match[5].length - 1) : undefined;
  }

  /**
   * Checks a presented secret against scrypt hashes of one group (`scryptGroupOf` equal for all) with one
   * derivation: the index of the hash it matches, or -1. Constant-time comparisons, each hash compared.
   */
  async verifyScryptGroup(secret: string, stored: readonly string[]): Promise<number> {
    const matches = stored.map((value) => PHC_SCRYPT.exec(value));
    const first = matches[0];
    const group = stored[0] === undefined ? undefined : this.scryptGroupOf(stored[0]);
    if (!first || matches.some((m, i) => !m || this.scryptGroupOf(stored[i]) !== group)) {
      throw new Error('verifyScryptGroup: every hash must be scrypt with the same cost and salt');
    }
    const [ln, r, p] = [Number(first[1]), Number(first[2]), Number(first[3])];
    // A stored value must not be able to demand unbounded work or memory (128·N·r bytes).
    if (ln < 10 || r < 1 || p < 1 || p > 4 || 128 * 2 ** ln * r > MAX_SCRYPT_MEMORY) return -1;
    const actual = await scryptAsync(
      secret,
      Buffer.from(first[4], 'base64'),
      costOptions(ln, r, p),
    );
    let found = -1;
    matches.forEach((match, i) => {
      if (timingSafeEqual(actual, Buffer.from(match![5], 'base64')) && found < 0) found = i;
    });
    return found;
  }

  /** What a stored value is: one of our hash formats, or anything else (a legacy plaintext secret). */
  kindOf(stored: string): StoredSecretKind {
    if (PHC_HMAC.test(stored)) return 'hmac';
    if (PHC_SCRYPT.test(stored)) return 'scrypt';
    return 'unknown';
  }

  /** Whether a stored value is in one of our hash formats. */
  isHash(stored: string): boolean {
    return this.kindOf(stored) !== 'unknown';
  }

  /** Constant-time check of a presented secret against a stored hash; false for anything unreadable. */
  async verify(secret: string, stored: string): Promise<boolean> {
    const hmac = PHC_HMAC.exec(stored);
    if (hmac) {
      const key = this.peppers.get(hmac[1]);
      return (
        key !== undefined && timingSafeEqual(this.mac(key, secret), Buffer.from(hmac[2], 'base64'))
      );
    }
    if (!PHC_SCRYPT.test(stored)) return false;
    return (await this.verifyScryptGroup(secret, [stored])) === 0;
  }

  /**
   * Constant-time comparison with a legacy plaintext secret (the seed stored them so). Both sides are
   * digested first, so neither the length nor the content of the stored secret shows in the timing.
   */
  verifyPlaintext(secret: string, stored: string): boolean {
    const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
    return timingSafeEqual(digest(secret), digest(stored));
  }

  /**
   * Does the work of verifying a generated secret, and returns false: used for unknown clients, so the
   * response does not tell which client ids exist, at a cost a flood of made-up ids cannot turn into a
   * denial of service.
   */
  async verifyDummy(secret: string): Promise<false> {
    this.dummyHash ??= this.digestGenerated(this.generate());
    await this.verify(secret, this.dummyHash);
    return false;
  }

  private mac(key: Buffer, secret: string): Buffer {
    return createHmac('sha256', key).update(secret, 'utf8').digest();
  }
}
