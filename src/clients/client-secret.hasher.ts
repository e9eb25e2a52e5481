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
/**
 * A peppered hash names its pepper (`k=<4 characters>,`): its derived key is 168 bits, so the string still
 * fits VARCHAR(80) exactly.
 */
const PEPPERED_KEY_BYTES = 21;
/** `$scrypt$[k=<pepper>,]ln=…,r=…,p=…$<salt>$<key>`: groups k, ln, r, p, salt, key. */
const PHC_SCRYPT =
  /^\$scrypt\$(?:k=([A-Za-z0-9_-]{4}),)?ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{28}|[A-Za-z0-9+/]{32})$/;
/** A PHC-style string of any scheme (`$2y$…`, `$argon2id$…`): a hash, never a plaintext secret. */
const PHC_ANY = /^\$[A-Za-z0-9][A-Za-z0-9_-]*\$/;
/** The default shortest chosen secret. */
const DEFAULT_MIN_SECRET_LENGTH = 20;
const PHC_HMAC = /^\$hmac-sha256\$k=([A-Za-z0-9_-]{1,16})\$([A-Za-z0-9+/]{43})$/;
/** Key id of the HMAC format when no pepper is configured (the key is then empty). */
const NO_PEPPER = '0';
const GENERATED_SECRET_BYTES = 32;
const MIN_PEPPER_BYTES = 32;

function scryptAsync(
  secret: string | Buffer,
  salt: Buffer,
  keyBytes: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** A parsed scrypt hash. */
interface ScryptHash {
  /** The pepper's id; undefined for an unpeppered hash. */
  pepperId: string | undefined;
  ln: number;
  r: number;
  p: number;
  salt: string;
  key: string;
}

function parseScrypt(stored: string): ScryptHash | undefined {
  const match = PHC_SCRYPT.exec(stored);
  if (!match) return undefined;
  const [, pepperId, ln, r, p, salt, key] = match;
  // Each format has its own key length: 32 characters unpeppered, 28 peppered.
  if ((pepperId === undefined) !== (key.length === 32)) return undefined;
  return { pepperId, ln: Number(ln), r: Number(r), p: Number(p), salt, key };
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
  /** The shortest secret `hash()` takes, unless it is a legacy import. @default 20 */
  minSecretLength?: number;
}

/**
 * Which kind of stored value a client secret column holds: one of our hashes, another scheme's hash (never
 * taken for a plaintext secret), or anything else (a legacy plaintext secret).
 */
export type StoredSecretKind = 'scrypt' | 'hmac' | 'foreign' | 'unknown';

/** Thrown by `hash()` for a chosen secret shorter than `minSecretLength`. */
export class ClientSecretPolicyError extends Error {
  override readonly name = 'ClientSecretPolicyError';
}

interface Pepper {
  /** Names it in HMAC digests. */
  id: string;
  /** Names it in scrypt hashes (the first 4 characters of `id`). */
  shortId: string;
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
  return { id, shortId: id.slice(0, 4), key };
}

/**
 * Hashes and verifies client secrets, in self-describing PHC-style strings of at most 80 characters:
 *
 * - `$hmac-sha256$k=<pepper id>$<mac>` for secrets the library generates (256 random bits): no amount of
 *   stretching adds to that entropy, so a keyed digest is as safe as a KDF and verifies in microseconds.
 * - `$scrypt$k=<pepper id>,ln=15,r=8,p=1$<salt>$<key>` for secrets a person chose, which need a memory-hard
 *   KDF; with a pepper, scrypt derives from HMAC-SHA256(pepper, secret), so a stolen table alone cannot
 *   confirm a guess for these either. Without a pepper: `$scrypt$ln=15,r=8,p=1$<salt>$<key>`. scrypt runs
 *   on libuv's thread pool, not the event loop.
 *
 * Every comparison is constant-time.
 */
export class ClientSecretHasher {
  private readonly pepper: Pepper | undefined;
  private readonly peppers: ReadonlyMap<string, Buffer>;
  private readonly scryptPeppers: ReadonlyMap<string, Buffer>;
  /** The shortest chosen secret `hash()` takes. */
  readonly minSecretLength: number;
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
    this.scryptPeppers = new Map(all.map((p) => [p.shortId, p.key] as const));
    if (this.scryptPeppers.size !== new Set(all.map((p) => p.id)).size) {
      throw new Error('ClientSecretHasher: two peppers share an id prefix; choose another pepper');
    }
    this.minSecretLength = options.minSecretLength ?? DEFAULT_MIN_SECRET_LENGTH;
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
   * The stored form of a secret a person chose: scrypt, peppered when a pepper is configured. A secret shorter
   * than `minSecretLength` is refused (ClientSecretPolicyError), unless `legacyImport` says it predates the
   * rule (a seed table's plaintext secret being hashed).
   *
   * With `sameSaltAs` (another scrypt hash of the same client), the new hash takes that hash's salt and cost, so
   * one derivation checks a presented secret against both (`verifyScryptGroup`): a client holding several
   * chosen secrets during a rotation costs one KDF run per request, not one per secret. Sharing a salt between
   * two secrets of one client only lets a thief of the table try one guess against both at once; the salt
   * still differs from every other client's.
   */
  async hash(
    secret: string,
    options: { sameSaltAs?: string; legacyImport?: boolean } = {},
  ): Promise<string> {
    if (!options.legacyImport && [...secret].length < this.minSecretLength) {
      throw new ClientSecretPolicyError(
        `a chosen client secret needs at least ${this.minSecretLength} characters`,
      );
    }
    const same = options.sameSaltAs === undefined ? undefined : parseScrypt(options.sameSaltAs);
    const { ln, r, p } = same ?? DEFAULT_COST;
    const salt = same ? Buffer.from(same.salt, 'base64') : randomBytes(SALT_BYTES);
    const pepper = this.pepper;
    const key = await scryptAsync(
      pepper ? this.mac(pepper.key, secret) : secret,
      salt,
      pepper ? PEPPERED_KEY_BYTES : KEY_BYTES,
      costOptions(ln, r, p),
    );
    const prefix = pepper ? `k=${pepper.shortId},` : '';
    return `$scrypt$${prefix}ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
  }

  /**
   * Whether a stored hash should be rewritten once its secret is known (after a successful check): it was made
   * without the current pepper (none then, or a former one).
   */
  needsUpgrade(stored: string): boolean {
    const pepper = this.pepper;
    if (!pepper) return false;
    const hmac = PHC_HMAC.exec(stored);
    if (hmac) return hmac[1] !== pepper.id;
    const scryptHash = parseScrypt(stored);
    return scryptHash !== undefined && scryptHash.pepperId !== pepper.shortId;
  }

  /**
   * What scrypt hashes share when one derivation checks them all: the cost and salt, `$scrypt$ln=…$<salt>`.
   * Undefined for anything but a scrypt hash.
   */
  scryptGroupOf(stored: string): string | undefined {
    const parsed = parseScrypt(stored);
    return parsed ? stored.slice(0, stored.length - parsed.key.length - 1) : undefined;
  }

  /**
   * Checks a presented secret against scrypt hashes of one group (`scryptGroupOf` equal for all) with one
   * derivation: the index of the hash it matches, or -1. Constant-time comparisons, each hash compared.
   */
  async verifyScryptGroup(secret: string, stored: readonly string[]): Promise<number> {
    const parsed = stored.map(parseScrypt);
    const first = parsed[0];
    const group = stored[0] === undefined ? undefined : this.scryptGroupOf(stored[0]);
    if (!first || parsed.some((hash, i) => !hash || this.scryptGroupOf(stored[i]) !== group)) {
      throw new Error('verifyScryptGroup: every hash must be scrypt with the same cost and salt');
    }
    const { ln, r, p, pepperId } = first;
    // A stored value must not be able to demand unbounded work or memory (128·N·r bytes).
    if (ln < 10 || r < 1 || p < 1 || p > 4 || 128 * 2 ** ln * r > MAX_SCRYPT_MEMORY) return -1;
    const pepper = pepperId === undefined ? undefined : this.scryptPeppers.get(pepperId);
    // Made with a pepper this server does not hold: nothing can match.
    if (pepperId !== undefined && !pepper) return -1;
    const actual = await scryptAsync(
      pepper ? this.mac(pepper, secret) : secret,
      Buffer.from(first.salt, 'base64'),
      pepper ? PEPPERED_KEY_BYTES : KEY_BYTES,
      costOptions(ln, r, p),
    );
    let found = -1;
    parsed.forEach((hash, i) => {
      if (timingSafeEqual(actual, Buffer.from(hash!.key, 'base64')) && found < 0) found = i;
    });
    return found;
  }

  /**
   * What a stored value is: one of our hash formats, another scheme's PHC-style hash, or anything else (a
   * legacy plaintext secret).
   */
  kindOf(stored: string): StoredSecretKind {
    if (PHC_HMAC.test(stored)) return 'hmac';
    if (parseScrypt(stored)) return 'scrypt';
    if (PHC_ANY.test(stored)) return 'foreign';
    return 'unknown';
  }

  /** Whether a stored value is in one of our hash formats. */
  isHash(stored: string): boolean {
    const kind = this.kindOf(stored);
    return kind === 'hmac' || kind === 'scrypt';
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
    if (!parseScrypt(stored)) return false;
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
