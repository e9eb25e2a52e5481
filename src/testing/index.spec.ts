import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import * as main from '../index.js';
import * as testing from './index.js';

/** The runtime surface of `@nest-oauth2/server/testing`; type-only exports leave nothing at runtime. */
const RUNTIME_EXPORTS = [
  'OAUTH2_TEST_TOKEN_FLAWS',
  'OAuth2TestIssuer',
  'OAuth2TestTokenMinter',
  'OAuth2TestTokens',
  'UNKNOWN_KEY_ID',
  'WRONG_AUDIENCE',
  'WRONG_ISSUER',
];

const source = (file: string) => readFileSync(new URL(file, import.meta.url), 'utf8');

describe('@nest-oauth2/server/testing', () => {
  test('exports exactly the kit', () => {
    expect(Object.keys(testing).sort()).toEqual(RUNTIME_EXPORTS);
  });

  test('is a package subpath of its own, built from src/testing/index.ts', () => {
    const { exports } = JSON.parse(source('../../package.json')) as {
      exports: Record<string, unknown>;
    };
    expect(exports['./testing']).toEqual({
      types: './dist/testing/index.d.ts',
      default: './dist/testing/index.js',
    });
  });

  test('the main entry neither exports nor imports it: test code is never loaded by an app', () => {
    const names = Object.keys(main);
    for (const name of RUNTIME_EXPORTS) expect([name, names.includes(name)]).toEqual([name, false]);
    expect(source('../index.ts')).not.toMatch(/testing/);
  });

  test('imports nothing of a test runner: it works under jest or any other', () => {
    const files = readdirSync(new URL('.', import.meta.url)).filter(
      (file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'),
    );
    expect(files.length).toBeGreaterThan(1);
    for (const file of files) {
      expect([file, source(file)]).not.toEqual([
        file,
        expect.stringMatching(/from '(@jest\/[^']+|jest|@nestjs\/testing|supertest)'/),
      ]);
    }
  });
});
