import { describe, expect, test } from '@jest/globals';
import { CliError, USAGE_EXIT_CODE } from './cli-error.js';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  test.each([
    ['30s', 30],
    ['15m', 900],
    ['24h', 86400],
    ['90d', 7776000],
    ['3650d', 315360000],
  ])('%s is %d seconds', (text, seconds) => {
    expect(parseDuration(text, '--x')).toBe(seconds);
  });

  test('a bare number is seconds only where the option allows it', () => {
    expect(parseDuration('3600', '--x', { bareSeconds: true })).toBe(3600);
    expect(() => parseDuration('3600', '--x')).toThrow(
      "--x must be a duration as <n>s|m|h|d (30s, 15m, 24h, 90d), not '3600'",
    );
  });

  test('0 only where the minimum allows it', () => {
    expect(parseDuration('0s', '--x', { min: 0 })).toBe(0);
    expect(() => parseDuration('0m', '--x')).toThrow('--x must be from 1s to 3650d');
  });

  test.each([['1w'], ['1.5h'], ['-1h'], ['h'], [''], [' 1h'], ['1H'], ['3651d'], ['99999999999s']])(
    '%j is a usage error',
    (text) => {
      let thrown: unknown;
      try {
        parseDuration(text, '--expires-in', { bareSeconds: true });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(CliError);
      expect((thrown as CliError).exitCode).toBe(USAGE_EXIT_CODE);
      expect((thrown as CliError).message).toMatch(/^--expires-in must be /);
    },
  );
});
