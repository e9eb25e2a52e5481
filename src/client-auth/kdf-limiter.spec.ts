import { describe, expect, test } from '@jest/globals';
import { KdfBusyError, KdfLimiter } from './kdf-limiter.js';

/** A task that finishes when told to. */
function deferred() {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { finish, work: () => done };
}

describe('KdfLimiter', () => {
  test('runs at most maxConcurrent at once, queues up to maxQueued, refuses the rest at once', async () => {
    const limiter = new KdfLimiter(2, 1);
    const tasks = [deferred(), deferred(), deferred()];
    let started = 0;
    const runs = tasks.map((task) =>
      limiter.run(async () => {
        started++;
        await task.work();
      }),
    );
    await Promise.resolve();
    expect(started).toBe(2);
    await expect(limiter.run(async () => 'x')).rejects.toBeInstanceOf(KdfBusyError);

    tasks[0].finish();
    await runs[0];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toBe(3);
    tasks[1].finish();
    tasks[2].finish();
    await Promise.all(runs);
    // All slots are free again.
    expect(await Promise.all([limiter.run(async () => 1), limiter.run(async () => 2)])).toEqual([
      1, 2,
    ]);
  });

  test('a failing task frees its slot', async () => {
    const limiter = new KdfLimiter(1, 0);
    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(await limiter.run(async () => 'ok')).toBe('ok');
  });
});
