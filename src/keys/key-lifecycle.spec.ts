import { describe, expect, test } from '@jest/globals';
import {
  afterTransitions,
  planActivation,
  planRetirement,
  prunableKeys,
  type OAuthKeyInfo,
} from './key-lifecycle.js';
import { OAuth2KeyStoreError } from './key-store-error.js';

const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

const key = (kid: string, state: OAuthKeyInfo['state'], fields: Partial<OAuthKeyInfo> = {}) => ({
  kid,
  algorithm: 'ES256' as const,
  state,
  createdAt: T0,
  activatedAt: state === 'next' ? null : T0,
  retiredAt: state === 'retired' ? T0 : null,
  ...fields,
});

const OLD = key('old', 'retired', { retiredAt: at(100) });
const ACTIVE = key('current', 'active');
const NEXT = key('new', 'next', { createdAt: at(1000) });
const KEYS = [OLD, ACTIVE, NEXT];
/** JWKS max-age 300 s + key refresh interval 60 s. */
const MIN_NEXT_AGE = 360;

function refused(plan: () => unknown): OAuth2KeyStoreError {
  try {
    plan();
  } catch (error) {
    expect(error).toBeInstanceOf(OAuth2KeyStoreError);
    return error as OAuth2KeyStoreError;
  }
  throw new Error('the plan was accepted');
}

describe('planActivation', () => {
  test('a next key published long enough becomes active; the active key is retired in the same step', () => {
    const now = at(1000 + MIN_NEXT_AGE);
    expect(planActivation(KEYS, 'new', { minNextAge: MIN_NEXT_AGE, now })).toEqual([
      { kid: 'new', from: 'next', to: 'active', at: now },
      { kid: 'current', from: 'active', to: 'retired', at: now },
    ]);
  });

  test('a key published for less than the minimum age is refused, with the time it may be activated', () => {
    const error = refused(() =>
      planActivation(KEYS, 'new', { minNextAge: MIN_NEXT_AGE, now: at(1000 + MIN_NEXT_AGE - 1) }),
    );
    expect(error.code).toBe('published_too_recently');
    expect(error.message).toBe(
      'signing key "new" has been published for 359s, less than the 360s every instance needs to ' +
        'publish it and resource servers may keep an older JWKS (key refresh interval + JWKS max-age): ' +
        'activate it from 2030-01-01T00:22:40.000Z',
    );
  });

  test('force skips the wait', () => {
    const now = at(1000);
    expect(
      planActivation(KEYS, 'new', { minNextAge: MIN_NEXT_AGE, force: true, now }).map((t) => t.kid),
    ).toEqual(['new', 'current']);
  });

  test('with no active key at all there is nothing to wait for', () => {
    const now = at(1000);
    expect(planActivation([NEXT], 'new', { minNextAge: MIN_NEXT_AGE, now })).toEqual([
      { kid: 'new', from: 'next', to: 'active', at: now },
    ]);
  });

  test('activating the active key is a no-op', () => {
    expect(planActivation(KEYS, 'current', { minNextAge: MIN_NEXT_AGE, now: at(0) })).toEqual([]);
  });

  test('a retired key never becomes active again', () => {
    const error = refused(() =>
      planActivation(KEYS, 'old', { minNextAge: 0, force: true, now: at(5000) }),
    );
    expect(error.code).toBe('refused_transition');
    expect(error.message).toBe(
      'signing key "old" is retired and cannot become active again: generate a new key',
    );
  });

  test('an unknown kid', () => {
    const error = refused(() => planActivation(KEYS, 'NEW', { minNextAge: 0, now: at(5000) }));
    expect(error.code).toBe('unknown_key');
    expect(error.message).toBe('no signing key has the kid "NEW"');
  });
});

describe('planRetirement', () => {
  test('a next key is retired', () => {
    expect(planRetirement(KEYS, 'new', at(5))).toEqual([
      { kid: 'new', from: 'next', to: 'retired', at: at(5) },
    ]);
  });

  test('retiring a retired key is a no-op', () => {
    expect(planRetirement(KEYS, 'old', at(5))).toEqual([]);
  });

  test('the active key is never retired alone: a key must always be there to sign', () => {
    const error = refused(() => planRetirement(KEYS, 'current', at(5)));
    expect(error.code).toBe('refused_transition');
    expect(error.message).toMatch(/^signing key "current" is the active key: activate another key/);
  });

  test('an unknown kid', () => {
    expect(refused(() => planRetirement(KEYS, 'nope', at(5))).code).toBe('unknown_key');
  });
});

describe('prunableKeys', () => {
  const keys = [
    key('retired-early', 'retired', { retiredAt: at(0) }),
    key('retired-late', 'retired', { retiredAt: at(10) }),
    key('active', 'active'),
    key('next', 'next'),
  ];

  test('retired keys whose retirement plus the longest lifetime has passed, and only those', () => {
    expect(prunableKeys(keys, 3600, at(3609)).map((k) => k.kid)).toEqual(['retired-early']);
    expect(prunableKeys(keys, 3600, at(3610)).map((k) => k.kid)).toEqual([
      'retired-early',
      'retired-late',
    ]);
    expect(prunableKeys(keys, 3600, at(3599))).toEqual([]);
  });

  test('never an active or a next key, however old', () => {
    expect(prunableKeys(keys, 0, at(10 ** 9)).map((k) => k.state)).toEqual(['retired', 'retired']);
  });
});

test('afterTransitions: the key as it is once written', () => {
  const now = at(2000);
  const transitions = planActivation(KEYS, 'new', { minNextAge: 0, now });
  expect(KEYS.map((k) => afterTransitions(k, transitions))).toEqual([
    OLD,
    { ...ACTIVE, state: 'retired', retiredAt: now },
    { ...NEXT, state: 'active', activatedAt: now },
  ]);
});
