/** The verified-token cache of a guard's verifier (`accessTokenCache` of either module). */
export interface OAuth2AccessTokenCacheOptions {
  /**
   * The most tokens held; `0` turns the cache off. Only tokens that passed every check are held, from their
   * second verification on, so tokens nobody was issued cannot fill it; past the bound, the oldest entry makes
   * room. Each entry holds the token and its principal: about 1-2 KiB for the library's own tokens, up to about
   * 20 KiB for the longest token accepted (8 KiB, with large custom claims). @default 1000
   */
  maxEntries?: number;
}

export const ACCESS_TOKEN_CACHE_DEFAULTS = { maxEntries: 1000 } as const;

/** One verified token: what its verification found, and what it stays valid on. */
export interface VerifiedToken<T> {
  readonly value: T;
  /**
   * What the token was verified with: the key object, or the set it came from. A hit counts only while the
   * verifier still holds this very object, so a key that is retired, removed or replaced (a key set reloaded,
   * a JWK Set fetched again) sends its tokens back to full verification.
   */
  readonly verifiedWith: object;
  /** When it stops being valid, in ms since the epoch: its `exp` plus the clock tolerance. */
  readonly expiresAt: number;
}

/** How much of a token's end the admission filter keeps: short enough that V8 copies it (no slice of the token). */
const TAIL_LENGTH = 12;

/**
 * Verified access tokens by their exact compact serialization, so a token seen again skips the signature
 * and claims checks (RFC 9068 §4) until its `exp`. What a hit still needs is the verifier's to check each
 * time: that the key is still in force (`verifiedWith`), and revocation (RFC 7009), which the stores answer
 * locally. Bounded by `maxEntries` with first-in-first-out eviction: a hit costs one map lookup and never
 * reorders, and a working set larger than the bound simply misses.
 *
 * A token is admitted on its second verification (`admits()`): clients reuse their tokens, so the second
 * request caches it, while a stream of tokens each seen once (more clients than entries, or a flood of valid
 * tokens) costs no entry, no freezing and no old-generation garbage. Held entries would then only be evicted
 * for tokens nobody presents again.
 */
export class VerifiedTokenCache<T> {
  private readonly entries = new Map<string, VerifiedToken<T>>();
  /** The tails of tokens verified once and not cached yet; cleared whenever it reaches `maxEntries`. */
  private seenOnce = new Set<string>();

  constructor(readonly maxEntries: number) {}

  /**
   * Whether a token that just passed verification should be held: it was verified before (its signature's
   * last characters are remembered; a collision only caches a token one request early). Bounded like the
   * entries.
   */
  admits(token: string): boolean {
    if (this.maxEntries <= 0) return false;
    const tail = token.slice(-TAIL_LENGTH);
    if (this.seenOnce.delete(tail)) return true;
    if (this.seenOnce.size >= this.maxEntries) this.seenOnce = new Set();
    this.seenOnce.add(tail);
    return false;
  }

  /** The entry of `token` while it has not expired. */
  get(token: string, now = Date.now()): VerifiedToken<T> | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (now < entry.expiresAt) return entry;
    this.entries.delete(token);
    return undefined;
  }

  /** Holds `token`, unless the cache is off or the token has already expired. */
  set(token: string, entry: VerifiedToken<T>, now = Date.now()): void {
    if (this.maxEntries <= 0 || entry.expiresAt <= now) return;
    if (!this.entries.has(token) && this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(token, entry);
  }

  delete(token: string): void {
    this.entries.delete(token);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** `maxEntries` checked: a whole number from 0 (off) to a million. */
export function accessTokenCacheSize(
  options: OAuth2AccessTokenCacheOptions | undefined,
  configError: (problem: string) => Error,
): number {
  const maxEntries = options?.maxEntries ?? ACCESS_TOKEN_CACHE_DEFAULTS.maxEntries;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 0 || maxEntries > 1_000_000) {
    throw configError('`accessTokenCache.maxEntries` must be a whole number from 0 to 1000000');
  }
  return maxEntries;
}
