/** What went wrong, as a stable code callers can branch on (the CLI turns each into its exit status). */
export type OAuth2KeyStoreErrorCode =
  /** No key has this kid. */
  | 'unknown_key'
  /** A sealed private key could not be opened: another key encryption key sealed it, or it was altered. */
  | 'key_not_opened'
  /** A `next` key has not been published long enough to be activated. */
  | 'published_too_recently'
  /** The change would leave the store without an active key, or bring back a retired one. */
  | 'refused_transition'
  /** The stored keys cannot serve: none is active, or two are. */
  | 'no_usable_key_set'
  /** Another writer changed the key meanwhile: nothing was written; run it again. */
  | 'concurrent_change';

/**
 * A refused or failed key store operation. Its message names the kid and the setting involved and never holds
 * key material.
 */
export class OAuth2KeyStoreError extends Error {
  override readonly name = 'OAuth2KeyStoreError';

  constructor(
    readonly code: OAuth2KeyStoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}
