import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import { generateKeyPairSync } from 'node:crypto';
import { OAuth2KeyStore } from './key-store.js';
import { OAuth2KeyStoreError } from './key-store-error.js';
import { RefreshingKeyRing } from './refreshing-key-ring.js';
import { resolveSigningKey, type SigningKey } from './signing-keys.js';
import type { OAuth2KeyState } from './signing-options.interface.js';

const pairs = [0, 1].map(() => generateKeyPairSync('ec', { namedCurve: 'P-256' }));
const keyOf = (index: number, state: OAuth2KeyState): SigningKey =>
  resolveSigningKey({ algorithm: 'ES256', privateKey: pairs[index].privateKey, state });

/** A store whose load() answers what the test says, counting the calls. */
class ScriptedStore extends OAuth2KeyStore {
  loads = 0;
  next: () => Promise<SigningKey[]> = async () => [keyOf(0, 'active')];

  load(): Promise<SigningKey[]> {
    this.loads++;
    return this.next();
  }
  list = unused;
  generate = unused;
  activate = unused;
  retire = unused;
  prune = unused;
}
function unused(): never {
  throw new Error('not used by the key ring');
}

class Warnings implements LoggerService {
  readonly lines: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: string): void {
    this.lines.push(message);
  }
}

let store: ScriptedStore;
let warnings: Warnings;
let ring: RefreshingKeyRing;

beforeEach(() => {
  jest.useFakeTimers();
  store = new ScriptedStore();
  warnings = new Warnings();
  ring = new RefreshingKeyRing(store, { refreshInterval: 60, logger: warnings });
});
afterEach(() => {
  ring.onModuleDestroy();
  jest.useRealTimers();
});

describe('RefreshingKeyRing', () => {
  test('no keys before module init', () => {
    expect(() => ring.current).toThrow('OAuth2Module: the signing keys are not loaded yet');
  });

  test('loads at init, then every refreshInterval seconds, and sees a rotation', async () => {
    await ring.onModuleInit();
    expect(store.loads).toBe(1);
    expect(ring.current.active.kid).toBe(keyOf(0, 'active').kid);

    store.next = async () => [keyOf(0, 'retired'), keyOf(1, 'active')];
    await jest.advanceTimersByTimeAsync(59_999);
    expect(store.loads).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(store.loads).toBe(2);
    expect(ring.current.active.kid).toBe(keyOf(1, 'active').kid);
    expect(ring.current.keyFor(keyOf(0, 'retired').kid)?.state).toBe('retired');

    await jest.advanceTimersByTimeAsync(60_000);
    expect(store.loads).toBe(3);
  });

  test('a store with no active key fails the start with what to do', async () => {
    store.next = async () => [keyOf(0, 'next')];
    await expect(ring.onModuleInit()).rejects.toThrow(
      'OAuth2Module: cannot load the signing keys from the key store: it holds 1 signing key(s) and ' +
        'none is active: generate one with `nest-oauth2 keys generate --activate`, or activate a next key',
    );
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a key that does not open fails the start, naming it', async () => {
    store.next = async () => {
      throw new OAuth2KeyStoreError('key_not_opened', 'signing key "k1" was sealed with …');
    };
    await expect(ring.onModuleInit()).rejects.toThrow(
      'OAuth2Module: cannot load the signing keys from the key store: signing key "k1" was sealed with …',
    );
  });

  test('a failed reload keeps the last good keys and warns, naming no driver detail', async () => {
    await ring.onModuleInit();
    const before = ring.current;
    store.next = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2'), {
        code: 'ECONNREFUSED',
      });
    };
    await jest.advanceTimersByTimeAsync(60_000);
    expect(ring.current).toBe(before);
    expect(warnings.lines).toEqual([
      'Could not reload the signing keys (Error (ECONNREFUSED)); keeping the 1 key(s) loaded before',
    ]);

    // Two active keys (a botched manual edit) are not taken either; the next good reload is.
    store.next = async () => [keyOf(0, 'active'), keyOf(1, 'active')];
    await jest.advanceTimersByTimeAsync(60_000);
    expect(ring.current).toBe(before);
    expect(warnings.lines[1]).toBe(
      'Could not reload the signing keys (exactly one signing key must be active, not 2); ' +
        'keeping the 1 key(s) loaded before',
    );
    store.next = async () => [keyOf(1, 'active')];
    await jest.advanceTimersByTimeAsync(60_000);
    expect(ring.current.active.kid).toBe(keyOf(1, 'active').kid);
  });

  test('module destroy stops the reloads; the timer never holds the process open', async () => {
    const setTimeoutSpy = jest.spyOn(globalThis, 'setTimeout');
    await ring.onModuleInit();
    const timer = setTimeoutSpy.mock.results[0].value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    ring.onModuleDestroy();
    await jest.advanceTimersByTimeAsync(600_000);
    expect(store.loads).toBe(1);
    expect(jest.getTimerCount()).toBe(0);
    setTimeoutSpy.mockRestore();
  });

  test('refresh() reloads at once', async () => {
    await ring.onModuleInit();
    store.next = async () => [keyOf(1, 'active')];
    await expect(ring.refresh()).resolves.toBe(true);
    expect(ring.current.active.kid).toBe(keyOf(1, 'active').kid);
  });
});
