import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { CachingOAuthClientRepository } from '../clients/caching-client.repository.js';
import type { OAuthClientRepository } from '../clients/oauth-client.repository.js';
import type { OAuth2KeyRing } from '../keys/key-ring.js';
import { RefreshingKeyRing } from '../keys/refreshing-key-ring.js';
import type { OAuth2Change, OAuth2ChangeFeed } from '../state/change-feed.js';

/**
 * Applies what the change feed announces to this instance's caches: a `client` change evicts that client
 * from the lookup cache, a `keys` change reloads the key ring (when keys come from a key store), and
 * `resync` does both for everything. (The revocation store follows the feed itself.)
 */
export class OAuth2ChangeSync implements OnModuleInit, OnModuleDestroy {
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly feed: OAuth2ChangeFeed,
    private readonly clients: OAuthClientRepository,
    private readonly keyRing: OAuth2KeyRing,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.feed.subscribe((change) => this.apply(change));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  private apply(change: OAuth2Change): void {
    const cache = this.clients instanceof CachingOAuthClientRepository ? this.clients : undefined;
    const keys = this.keyRing instanceof RefreshingKeyRing ? this.keyRing : undefined;
    switch (change.type) {
      case 'client':
        cache?.evict(change.clientId);
        return;
      case 'keys':
        // refresh() logs its own failure and keeps the keys it had.
        void keys?.refresh();
        return;
      case 'resync':
        cache?.evictAll();
        void keys?.refresh();
        return;
    }
  }
}
