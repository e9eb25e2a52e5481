import { describe, expect, test } from '@jest/globals';
import { NO_PROGRESS, progressText, terminalProgress } from './progress.js';

describe('progressText', () => {
  test.each([
    [0, 300, 0, '0/300 (0%)'],
    [0, 300, 5000, '0/300 (0%)'],
    [120, 300, 1500, '120/300 (40%), 80/s, about 3 s left'],
    [3, 10_000, 1000, '3/10000 (0%), 3.0/s, about 55 min 33 s left'],
    [9, 10_000, 100, '9/10000 (0%), 90/s, about 1 min 52 s left'],
    [1, 100_000, 1000, '1/100000 (0%), 1.0/s, about 27 h 46 min left'],
    [300, 300, 2000, '300/300 (100%), 150/s, about 0 s left'],
    // The total is an estimate: more done than estimated is shown as done of done.
    [301, 300, 1000, '301/301 (100%), 301/s, about 0 s left'],
    [0, 0, 10, '0/0 (100%)'],
  ])('%i of %i after %i ms: %s', (done, total, elapsed, text) => {
    expect(progressText(done, total, elapsed)).toBe(text);
  });
});

describe('terminalProgress', () => {
  test('redraws one line in place, at most every 100 ms but always at the end, and clears it', () => {
    let clock = 1000;
    const written: string[] = [];
    const progress = terminalProgress(
      (text) => written.push(text),
      'Hashing:',
      () => clock,
    );
    clock += 500;
    progress.update(10, 40);
    clock += 50;
    progress.update(20, 40);
    clock += 50;
    progress.update(30, 40);
    clock += 10;
    progress.update(40, 40);
    progress.finish();
    expect(written).toEqual([
      '\rHashing: 10/40 (25%), 20/s, about 2 s left\x1b[K',
      '\rHashing: 30/40 (75%), 50/s, about 1 s left\x1b[K',
      '\rHashing: 40/40 (100%), 66/s, about 0 s left\x1b[K',
      '\r\x1b[K',
    ]);
  });

  test('finish before anything was drawn writes nothing', () => {
    const written: string[] = [];
    terminalProgress((text) => written.push(text), 'x').finish();
    NO_PROGRESS.update(1, 2);
    NO_PROGRESS.finish();
    expect(written).toEqual([]);
  });
});
