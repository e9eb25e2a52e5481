import { describe, expect, jest, test } from '@jest/globals';
import { CachingOAuthClientRepository } from '../clients/caching-client.repository.js';
import { InMemoryOAuthClientRepository } from '../clients/in-memory-client.repository.js';
import { OAuth2KeyStore } from '../keys/key-store.js';
import { RefreshingKeyRing } from '../keys/refreshing-key-ring.js';
import { InMemoryOAuth2ChangeFeed } from '../state/change-feed.js';
import { OAuth2ChangeSync } from './change-sync.js';

function unused(): never {
  throw new Error('not used');
}

describe('OAuth2ChangeSync', () => {
  const setup = () => {
    const feed = new InMemoryOAuth2ChangeFeed();
    const clients = new CachingOAuthClientRepository(new InMemoryOAuthClientRepository(), {
      ttl: 60,
      max: 10,
      maxWaitMs: 50,
    });
    const store = { load: unused } as unknown as OAuth2KeyStore;
    const keyRing = new RefreshingKeyRing(store, { refreshInterval: 3600 });
    const evict = jest.spyOn(clients, 'evict');
    const evictAll = jest.spyOn(clients, 'evictAll');
    const refresh = jest.spyOn(keyRing, 'refresh').mockResolvedValue(true);
    const sync = new OAuth2ChangeSync(feed, clients, keyRing);
    sync.onModuleInit();
    return { feed, sync, evict, evictAll, refresh };
  };

  test('client → evicts that client; keys → reloads the keys; resync → both, for everything', async () => {
    const { feed, evict, evictAll, refresh } = setup();
    await feed.publish({ type: 'client', clientId: 'c1' });
    expect(evict).toHaveBeenCalledWith('c1');
    expect(refresh).not.toHaveBeenCalled();
    await feed.publish({ type: 'keys' });
    expect(refresh).toHaveBeenCalledTimes(1);
    await feed.publish({ type: 'resync' });
    expect(evictAll).toHaveBeenCalledTimes(1);
    expect(refresh).toHaveBeenCalledTimes(2);
    await feed.publish({
      type: 'revocation',
      revocation: { kind: 'token', jti: 'j', expiresAt: 1 },
    });
    expect(evict).toHaveBeenCalledTimes(1);
  });

  test('stops listening on module destroy', async () => {
    const { feed, sync, evict } = setup();
    sync.onModuleDestroy();
    await feed.publish({ type: 'client', clientId: 'c1' });
    expect(evict).not.toHaveBeenCalled();
  });
});
