import { afterEach, describe, expect, test } from '@jest/globals';
import { CapturingLogger } from '../../test/support/logger.js';
import { requireRedis, testRedisUrl, uniqueRedisPrefix } from '../../test/support/redis.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import { OAuth2Metrics, type OAuth2RevocationStoreOperation } from '../observability/metrics.js';
import { RedisOAuth2ChangeFeed } from './redis-change-feed.js';
import { RedisConnection } from './redis-connection.js';
import { RedisOAuth2RevocationStore } from './redis-revocation.store.js';

/** Every revocationStore() call, in order. */
class RecordingMetrics extends OAuth2Metrics {
  readonly calls: { operation: OAuth2RevocationStoreOperation; ms: number; failed: boolean }[] = [];

  override revocationStore(operation: OAuth2RevocationStoreOperation, ms: number, failed: boolean) {
    this.calls.push({ operation, ms, failed });
  }
}

(testRedisUrl ? describe : describe.skip)('RedisOAuth2RevocationStore reload latency', () => {
  let proxy: TcpProxy | undefined;
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    await proxy?.close();
  });

  test('each reload is timed once: ok at start-up, failed while Redis is cut, ok again after', async () => {
    await requireRedis();
    const target = new URL(testRedisUrl!);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
    const url = new URL(testRedisUrl!);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const logger = new CapturingLogger();
    const connection = await RedisConnection.open(
      { url: url.href, keyPrefix: uniqueRedisPrefix(), commandTimeoutMs: 300 },
      { waitMs: 2000, logger },
    );
    const feed = new RedisOAuth2ChangeFeed(connection, { logger });
    const metrics = new RecordingMetrics();
    const store = new RedisOAuth2RevocationStore(connection, feed, { metrics });
    close = async () => {
      store.onModuleDestroy();
      await connection.close();
    };

    await store.onModuleInit();
    expect(metrics.calls).toEqual([{ operation: 'reload', ms: expect.any(Number), failed: false }]);
    expect(metrics.calls[0]!.ms).toBeGreaterThan(0);

    await proxy.cut();
    expect(await store.reload()).toBe(false);
    expect(metrics.calls.slice(1)).toEqual([
      { operation: 'reload', ms: expect.any(Number), failed: true },
    ]);

    proxy.restore();
    let reloaded = false;
    for (let i = 0; i < 50 && !reloaded; i++) {
      reloaded = await store.reload();
      if (!reloaded) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(reloaded).toBe(true);
    expect(metrics.calls.at(-1)).toEqual({
      operation: 'reload',
      ms: expect.any(Number),
      failed: false,
    });
    // A revoke is the caller's to time (OAuth2Revocations): the store records reloads only.
    expect(metrics.calls.every((call) => call.operation === 'reload')).toBe(true);
  });
});
