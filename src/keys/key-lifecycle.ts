import { OAuth2KeyStoreError } from './key-store-error.js';
import type { OAuth2KeyState } from './signing-options.interface.js';

/** The algorithms a key store generates keys for: RFC 9068's mandatory RS256, PS256 and the compact ES256. */
export const STORED_KEY_ALGORITHMS = ['RS256', 'PS256', 'ES256'] as const;
export type OAuth2StoredKeyAlgorithm = (typeof STORED_KEY_ALGORITHMS)[number];

/** A stored key as listed: its state and when it changed, never its material. */
export interface OAuthKeyInfo {
  kid: string;
  algorithm: OAuth2StoredKeyAlgorithm;
  state: OAuth2KeyState;
  /** When it was stored as `next` (published from then on). */
  createdAt: Date;
  /** When it became `active`; null while `next`. */
  activatedAt: Date | null;
  /** When it became `retired`; null until then. */
  retiredAt: Date | null;
}

/** One key moving from one state to another, at `at`: what a store writes, compare-and-set on `from`. */
export interface KeyTransition {
  kid: string;
  from: OAuth2KeyState;
  to: OAuth2KeyState;
  at: Date;
}

export interface ActivationRules {
  /**
   * Seconds a key must have been `next` before it signs: the time for every instance to publish it (the key
   * refresh interval) plus the time resource servers may keep an older JWKS (its max-age).
   */
  minNextAge: number;
  /** Skip the wait (a key suspected compromised must go now). @default false */
  force?: boolean;
  now: Date;
}

/**
 * The rules of a key's life, shared by every store and the CLI: `next` → `active` → `retired` → removed.
 * Exactly one key is active once any is: a key becomes active only by activation, which retires the
 * previous active key in the same step, and the active key is never retired alone. A retired key never
 * becomes active again (generate a new one). Each function returns the transitions to write, `[]` for a no-op.
 */
export function planActivation(
  keys: readonly OAuthKeyInfo[],
  kid: string,
  { minNextAge, force = false, now }: ActivationRules,
): KeyTransition[] {
  const key = find(keys, kid);
  if (key.state === 'active') return [];
  if (key.state === 'retired') {
    throw new OAuth2KeyStoreError(
      'refused_transition',
      `signing key "${kid}" is retired and cannot become active again: generate a new key`,
    );
  }
  const active = keys.filter((other) => other.state === 'active');
  // With no active key nothing signs at all: waiting would only prolong the outage.
  const earliest = new Date(key.createdAt.getTime() + minNextAge * 1000);
  if (!force && active.length > 0 && now < earliest) {
    const age = Math.max(0, Math.floor((now.getTime() - key.createdAt.getTime()) / 1000));
    throw new OAuth2KeyStoreError(
      'published_too_recently',
      `signing key "${kid}" has been published for ${age}s, less than the ${minNextAge}s every instance ` +
        'needs to publish it and resource servers may keep an older JWKS (key refresh interval + JWKS ' +
        `max-age): activate it from ${earliest.toISOString()}`,
    );
  }
  return [
    { kid, from: 'next', to: 'active', at: now },
    ...active.map((old) => ({ kid: old.kid, from: old.state, to: 'retired' as const, at: now })),
  ];
}

/** Retires a `next` key (one that will never sign); retiring a retired key is a no-op. */
export function planRetirement(
  keys: readonly OAuthKeyInfo[],
  kid: string,
  now: Date,
): KeyTransition[] {
  const key = find(keys, kid);
  if (key.state === 'retired') return [];
  if (key.state === 'active') {
    throw new OAuth2KeyStoreError(
      'refused_transition',
      `signing key "${kid}" is the active key: activate another key, which retires this one, ` +
        'so that a key is always there to sign',
    );
  }
  return [{ kid, from: 'next', to: 'retired', at: now }];
}

/**
 * The retired keys that no valid token can name any more: retired at least `longestLifetime` seconds before
 * `now`, the longest a token signed just before retirement may live. Never an active or a next key.
 */
export function prunableKeys(
  keys: readonly OAuthKeyInfo[],
  longestLifetime: number,
  now: Date,
): OAuthKeyInfo[] {
  return keys.filter(
    (key) =>
      key.state === 'retired' &&
      key.retiredAt !== null &&
      key.retiredAt.getTime() + longestLifetime * 1000 <= now.getTime(),
  );
}

/** The key as it is after the transitions. */
export function afterTransitions(
  key: OAuthKeyInfo,
  transitions: readonly KeyTransition[],
): OAuthKeyInfo {
  const transition = transitions.find((t) => t.kid === key.kid);
  if (!transition) return key;
  return {
    ...key,
    state: transition.to,
    ...(transition.to === 'active' ? { activatedAt: transition.at } : {}),
    ...(transition.to === 'retired' ? { retiredAt: transition.at } : {}),
  };
}

function find(keys: readonly OAuthKeyInfo[], kid: string): OAuthKeyInfo {
  const key = keys.find((candidate) => candidate.kid === kid);
  if (!key) throw new OAuth2KeyStoreError('unknown_key', `no signing key has the kid "${kid}"`);
  return key;
}
