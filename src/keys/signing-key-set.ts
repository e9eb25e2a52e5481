import type { JWK } from 'jose';
import { HMAC_ALGORITHMS, resolveSigningKey, type SigningKey } from './signing-keys.js';
import type { OAuth2SigningOptions } from './signing-options.interface.js';

/** RFC 7517 §5: a JWK Set. */
export interface JsonWebKeySet {
  keys: JWK[];
}

const isHmac = (key: SigningKey): boolean =>
  (HMAC_ALGORITHMS as readonly string[]).includes(key.algorithm);

/**
 * The keys in force at one moment: exactly one `active` key signs; every key, `next`, `active` and `retired`,
 * verifies the tokens that name its `kid`. Immutable: a change of keys is a new set.
 */
export class SigningKeySet {
  readonly active: SigningKey;
  private readonly byKid: ReadonlyMap<string | undefined, SigningKey>;

  constructor(readonly keys: readonly SigningKey[]) {
    const active = keys.filter((key) => key.state === 'active');
    if (active.length !== 1) {
      throw new Error(`OAuth2Module: exactly one signing key must be active, not ${active.length}`);
    }
    this.active = active[0];
    const byKid = new Map<string | undefined, SigningKey>();
    for (const key of keys) {
      if (byKid.has(key.kid)) {
        throw new Error(
          key.kid === undefined
            ? 'OAuth2Module: with several signing keys, each needs a `keyId`'
            : `OAuth2Module: two signing keys have the kid ${JSON.stringify(key.kid)}`,
        );
      }
      byKid.set(key.kid, key);
    }
    if (byKid.has(undefined) && keys.length > 1) {
      throw new Error('OAuth2Module: with several signing keys, each needs a `keyId`');
    }
    this.byKid = byKid;
  }

  /** The keys of the `signing` option, each checked. */
  static fromOptions(signing: OAuth2SigningOptions): SigningKeySet {
    const list = Array.isArray(signing)
      ? signing
      : [signing as Exclude<typeof signing, readonly unknown[]>];
    return new SigningKeySet(list.map(resolveSigningKey));
  }

  /**
   * The key a token's `kid` names among the keys in force, or undefined. Nothing else of the token's header
   * chooses the key (RFC 8725 §3.1); a token without `kid` matches only a set of one key without one.
   */
  keyFor(kid: unknown): SigningKey | undefined {
    if (kid !== undefined && typeof kid !== 'string') return undefined;
    return this.byKid.get(kid);
  }

  /** Whether `key` is one of this set's keys, under its own `kid`: what a token it verified still needs. */
  holds(key: SigningKey): boolean {
    return this.byKid.get(key.kid) === key;
  }

  /** Whether resource servers can verify with published keys: the active key is asymmetric. */
  get publishable(): boolean {
    return !isHmac(this.active);
  }

  /**
   * The public verification keys as an RFC 7517 JWK Set, each with `kid`, `alg` and `use: "sig"`. Only the
   * public halves are exported, so no private member can appear; HMAC secrets are never published.
   */
  jwks(): JsonWebKeySet {
    return {
      keys: this.keys
        .filter((key) => !isHmac(key))
        .map((key) => ({
          ...(key.verificationKey.export({ format: 'jwk' }) as JWK),
          kid: key.kid,
          alg: key.algorithm,
          use: 'sig',
        })),
    };
  }
}
