/**
 * A change another process made to state every instance caches, announced so each instance drops or reloads
 * its copy at once instead of waiting for a TTL:
 * - `client`: a client's record or secrets changed (saved, disabled, deleted, a secret added or revoked);
 *   its lookup-cache entry is evicted.
 * - `keys`: the key store changed (a key generated, activated, retired); the key ring reloads.
 * - `revocation`: a token or a client's tokens were revoked (the revocation store applies it).
 * - `resync`: messages may have been missed (the feed reconnected); every listener reloads what it holds.
 */
export type OAuth2Change =
  | { type: 'client'; clientId: string }
  | { type: 'keys' }
  | { type: 'revocation'; revocation: OAuth2RevocationRecord }
  | { type: 'resync' };

/**
 * A revocation as it travels and is stored (times in ms since the epoch):
 * - `token`: the access token with this `jti` is refused until `expiresAt` (its `exp`).
 * - `client`: every token of `clientId` issued at or before `notBefore` is refused; kept until `expiresAt`,
 *   when every such token has expired (`notBefore` + the longest access token lifetime + clock tolerance).
 */
export type OAuth2RevocationRecord =
  | { kind: 'token'; jti: string; expiresAt: number }
  | { kind: 'client'; clientId: string; notBefore: number; expiresAt: number };

/** Receives every change, this process's own included. It must not throw. */
export type OAuth2ChangeListener = (change: OAuth2Change) => void;

/**
 * How instances tell each other of changes, and the DI token to replace it. The default reaches only this
 * process (the module's own writes); with `store: { redis }` it is Redis pub/sub, which the CLI publishes to.
 */
export abstract class OAuth2ChangeFeed {
  /**
   * Announces `change` to every instance, this one included. Rejects when it cannot (the feed is down): the
   * caller decides whether that fails the operation or only delays it (see each caller).
   */
  abstract publish(change: OAuth2Change): Promise<void>;

  /** Calls `listener` with every change from now on; the returned function stops that. */
  abstract subscribe(listener: OAuth2ChangeListener): () => void;
}

/** The default feed: this process only. A change made by another process (the CLI) is not heard. */
export class InMemoryOAuth2ChangeFeed extends OAuth2ChangeFeed {
  private readonly listeners = new Set<OAuth2ChangeListener>();

  async publish(change: OAuth2Change): Promise<void> {
    for (const listener of [...this.listeners]) listener(change);
  }

  subscribe(listener: OAuth2ChangeListener): () => void {
    // A wrapper per call, so the same function subscribed twice is two subscriptions.
    const entry: OAuth2ChangeListener = (change) => listener(change);
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }
}
