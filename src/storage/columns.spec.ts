import { describe, expect, test } from '@jest/globals';
import { BOOLEAN, EPOCH_MILLISECONDS } from './columns.js';

describe('BOOLEAN', () => {
  test.each<[unknown, boolean]>([
    [true, true],
    [false, false],
    // MariaDB/MySQL TINYINT and SQLite INTEGER; any non-zero number is SQL's true.
    [1, true],
    [0, false],
    [2, true],
    [-1, true],
    [1n, true],
    [0n, false],
    // A BIT(1) column arrives as bytes.
    [Buffer.from([1]), true],
    [Buffer.from([0]), false],
    // Strings: a number's text as the number, else the words for false.
    ['1', true],
    ['0', false],
    ['0.0', false],
    ['2', true],
    ['true', true],
    ['t', true],
    ['yes', true],
    ['false', false],
    ['F', false],
    ['no', false],
    ['off', false],
    ['', false],
    // The column's default: not disabled.
    [null, false],
    [undefined, false],
  ])('%p reads as %p', (stored, read) => {
    expect(BOOLEAN.from(stored)).toBe(read);
  });

  test('writes the boolean as it is: each driver stores it in its own type', () => {
    expect(BOOLEAN.to(true)).toBe(true);
    expect(BOOLEAN.to(false)).toBe(false);
  });
});

describe('EPOCH_MILLISECONDS', () => {
  test('a Date is written as its milliseconds, and read back identically from a number or a string', () => {
    const at = new Date('2100-12-31T23:59:59.999Z');
    expect(EPOCH_MILLISECONDS.to(at)).toBe(4133980799999);
    expect(EPOCH_MILLISECONDS.from(4133980799999)).toEqual(at);
    expect(EPOCH_MILLISECONDS.from('4133980799999')).toEqual(at);
    expect(EPOCH_MILLISECONDS.from(null)).toBeNull();
    expect(EPOCH_MILLISECONDS.to(null)).toBeNull();
  });
});
