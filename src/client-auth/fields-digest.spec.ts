import { describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { fieldsDigest } from './fields-digest.js';

describe('fieldsDigest', () => {
  test('the digest the stores already hold keys under: SHA-256 of each field after its byte length', () => {
    const before = createHash('sha256');
    for (const field of ['clïent', '203.0.113.7']) {
      before.update(`${Buffer.byteLength(field)}:`).update(field);
    }
    expect(fieldsDigest('clïent', '203.0.113.7')).toBe(before.digest('base64url'));
  });

  test('fields that join to the same text stay apart; any input gives 43 characters', () => {
    expect(fieldsDigest('ab', 'c')).not.toBe(fieldsDigest('a', 'bc'));
    expect(fieldsDigest('abc')).not.toBe(fieldsDigest('ab', 'c'));
    expect(fieldsDigest('x'.repeat(100_000))).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
