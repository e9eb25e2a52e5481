import { afterEach, describe, expect, test } from '@jest/globals';
import { Redis } from 'ioredis';
import { requireRedis, testRedisUrl, uniqueRedisPrefix } from '../../test/support/redis.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import { changeChannel } from './redis-change-feed.js';
import { connectRedisState, type RedisState } from './redis-state.js';

describe('connectRedisState without a Redis to reach', () => {
  test('rejects within a few seconds, naming the host but not the password', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 9 });
    await proxy.cut();
    const error = await connectRedisState({
      url: `redis://user:s3cret-pw@127.0.0.1:${proxy.port}/0`,
    }).then(
      () => undefined,
      (failure: Error) => failure,
    );
    await proxy.close();
    expect(error?.message).toMatch(
      new RegExp(
        `^Redis at redis://127\\.0\\.0\\.1:${proxy.port}/0 cannot be reached within 5000 ms`,
      ),
    );
    expect(error?.message).not.toContain('s3cret-pw');
  });

  test('refuses a URL that is not redis', async () => {
    await expect(connectRedisState({ url: 'http://127.0.0.1:6379' })).rejects.toThrow(
      '`store.redis.url` must be a redis:// or rediss:// URL',
    );
  });
});

(testRedisUrl ? describe : describe.skip)('connectRedisState on Redis', () => {
  let state: RedisState | undefined;
  let listener: Redis | undefined;
  afterEach(async () => {
    await state?.close();
    listener?.disconnect();
  });

  test('revoke() is durable and published; feed.publish() publishes', async () => {
    await requireRedis();
    const keyPrefix = uniqueRedisPrefix();
    listener = new Redis(testRedisUrl!);
    const heard: string[] = [];
    listener.on('message', (_channel: string, message: string) => heard.push(message));
    await listener.subscribe(changeChannel(keyPrefix));

    state = await connectRedisState({ url: testRedisUrl!, keyPrefix });
    const expiresAt = Date.now() + 60_000;
    await state.revocations.revoke({ kind: 'token', jti: 'jti-1', expiresAt });
    await state.feed.publish({ type: 'keys' });

    const reader = new Redis(testRedisUrl!);
    try {
      expect(await reader.zscore(`${keyPrefix}revoked:tokens`, 'jti-1')).toBe(String(expiresAt));
    } finally {
      reader.disconnect();
    }
    await waitFor(() => heard.length === 2);
    expect(heard.map((message) => JSON.parse(message))).toEqual([
      { type: 'revocation', revocation: { kind: 'token', jti: 'jti-1', expiresAt } },
      { type: 'keys' },
    ]);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
