import { describe, expect, test } from '@jest/globals';
import { KdfBusyError, KdfLimiter } from './kdf-limiter.js';

/** A task that finishes when told to. */
function deferred() {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { finish, work: () => done };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('KdfLimiter', () => {
  test('runs at most maxConcurrent at once, queues up to maxQueued, refuses the rest at once', async () => {
    const limiter = new KdfLimiter(2, 1);
    const tasks = [deferred(), deferred(), deferred()];
    let started = 0;
    const runs = tasks.map((task) =>
      limiter.run('a', async () => {
        started++;
        await task.work();
      }),
    );
    await Promise.resolve();
    expect(started).toBe(2);
    expect(limiter.load).toEqual({ running: 2, waiting: 1 });
    await expect(limiter.run('a', async () => 'x')).rejects.toBeInstanceOf(KdfBusyError);

    tasks[0].finish();
    await runs[0];
    await settle();
    expect(started).toBe(3);
    tasks[1].finish();
    tasks[2].finish();
    await Promise.all(runs);
    expect(limiter.load).toEqual({ running: 0, waiting: 0 });
    // All slots are free again.
    expect(
      await Promise.all([limiter.run('a', async () => 1), limiter.run('b', async () => 2)]),
    ).toEqual([1, 2]);
  });

  test('onWait: each derivation tells how long it waited, 0 when it ran at once; a refused one tells nothing', async () => {
    const waits: number[] = [];
    const limiter = new KdfLimiter(1, 1, (ms) => waits.push(ms));
    const first = deferred();
    const running = limiter.run('a', first.work);
    const queued = limiter.run('b', async () => 'b');
    await expect(limiter.run('c', async () => 'c')).rejects.toBeInstanceOf(KdfBusyError);
    expect(waits).toEqual([0]);
    first.finish();
    await Promise.all([running, queued]);
    expect(waits).toHaveLength(2);
    expect(waits[1]).toBeGreaterThanOrEqual(0);
  });

  test('a failing task frees its slot', async () => {
    const limiter = new KdfLimiter(1, 0);
    await expect(limiter.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(await limiter.run('a', async () => 'ok')).toBe('ok');
  });

  test('slots go to the requesters in turn: a waiting victim is served as soon as the running flood derivation ends', async () => {
    const limiter = new KdfLimiter(1, 20);
    const order: string[] = [];
    const running = deferred();
    const first = limiter.run('flood', async () => {
      order.push('flood');
      await running.work();
    });
    const flood = Array.from({ length: 8 }, () =>
      limiter.run('flood', async () => {
        order.push('flood');
      }),
    );
    const victim = limiter.run('victim', async () => {
      order.push('victim');
    });
    running.finish();
    await Promise.all([first, victim, ...flood]);
    expect(order.slice(0, 3)).toEqual(['flood', 'victim', 'flood']);
    expect(order).toHaveLength(10);
  });

  test('a full queue sheds the longest queue’s newest waiter for a newcomer, never the newcomer of a short one', async () => {
    const limiter = new KdfLimiter(1, 3);
    const running = deferred();
    const outcomes: string[] = [];
    const track = (name: string, promise: Promise<unknown>) =>
      promise.then(
        () => outcomes.push(`${name} ran`),
        (error: unknown) => outcomes.push(`${name} ${(error as Error).name}`),
      );
    const all = [track('f0', limiter.run('flood', running.work))];
    for (const name of ['f1', 'f2', 'f3'])
      all.push(
        track(
          name,
          limiter.run('flood', async () => {}),
        ),
      );
    // The queue is full (3 of flood): the victim takes the newest flood waiter's place.
    all.push(
      track(
        'victim',
        limiter.run('victim', async () => {}),
      ),
    );
    // Another flood attempt: its queue is the longest, so it is the one refused.
    all.push(
      track(
        'f4',
        limiter.run('flood', async () => {}),
      ),
    );
    await settle();
    expect([...outcomes].sort()).toEqual(['f3 KdfBusyError', 'f4 KdfBusyError']);
    running.finish();
    await Promise.all(all);
    expect(outcomes.slice(2).sort()).toEqual(['f0 ran', 'f1 ran', 'f2 ran', 'victim ran']);
  });

  test('with one waiter each, two requesters share the queue as it is', async () => {
    const limiter = new KdfLimiter(1, 1);
    const running = deferred();
    const first = limiter.run('a', running.work);
    const waiting = limiter.run('b', async () => 'b');
    await expect(limiter.run('c', async () => 'c')).rejects.toBeInstanceOf(KdfBusyError);
    running.finish();
    await first;
    expect(await waiting).toBe('b');
  });
});
