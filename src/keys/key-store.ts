import type { OAuth2StoredKeyAlgorithm, OAuthKeyInfo } from './key-lifecycle.js';
import type { SigningKey } from './signing-keys.js';

export interface KeyActivationOptions {
  /**
   * Seconds the key must have been `next`: the JWKS max-age plus the key refresh interval, so that every
   * resource server can know it before its first token. The rules are `planActivation()`'s.
   */
  minNextAge: number;
  /** Activate at once, however recently the key was published. @default false */
  force?: boolean;
  /** @default the current time */
  now?: Date;
}

/**
 * Signing keys kept in storage with their life cycle (`next` → `active` → `retired` → pruned), shared by every
 * instance of the authorization server; and the DI token to provide your own with the module's `keyStore`
 * extra. Implementations keep private keys encrypted at rest, apply the rules of `key-lifecycle.ts`, and make
 * each change atomic: a reader never sees two active keys, or none once one was.
 */
export abstract class OAuth2KeyStore {
  /** Every key with its state and timestamps, oldest first; no key material. */
  abstract list(): Promise<OAuthKeyInfo[]>;

  /**
   * Every key, decrypted and checked, to sign and verify with. Throws (`key_not_opened`, naming the kid)
   * when one cannot be opened: a partial set could drop the active key or one that tokens still name.
   */
  abstract load(): Promise<SigningKey[]>;

  /** Stores a new key pair as `next`; with `activate`, active at once (retiring the active key). */
  abstract generate(
    algorithm: OAuth2StoredKeyAlgorithm,
    options?: { activate?: boolean; now?: Date },
  ): Promise<OAuthKeyInfo>;

  /**
   * Makes a `next` key active and retires the active one, in one transaction. A no-op for the active key.
   * @returns the keys whose state changed, as they are now
   */
  abstract activate(kid: string, options: KeyActivationOptions): Promise<OAuthKeyInfo[]>;

  /**
   * Retires a `next` key; a retired key is left as it is. The active key is refused: activate another one.
   * @returns the key as it is now
   */
  abstract retire(kid: string, options?: { now?: Date }): Promise<OAuthKeyInfo>;

  /**
   * Removes the retired keys retired at least `longestLifetime` seconds before `now` (the longest a token
   * they signed may live); never an active or next key.
   * @returns the removed keys
   */
  abstract prune(longestLifetime: number, now?: Date): Promise<OAuthKeyInfo[]>;
}
