import type { OnModuleDestroy } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { ClientSecretHasher } from '../clients/client-secret.hasher.js';
import type { OAuth2Metrics } from '../observability/metrics.js';
import { fieldsDigest } from './fields-digest.js';
import { KdfLimiter } from './kdf-limiter.js';

export interface SecretVerifierOptions {
  /** How long a successful KDF verification is remembered, in seconds; 0 turns the cache off. */
  cacheTtl: number;
  /** How many verified credentials are remembered at most. */
  cacheMax: number;
  /** Concurrent KDF verifications. */
  maxConcurrentKdf: number;
  /** KDF verifications allowed to wait for a slot; past that, requests are shed. */
  maxQueuedKdf: number;
}

/**
 * Verifies presented secrets against stored hashes so that a legitimate client pays the KDF once, not per
 * token, and a flood of wrong secrets cannot starve the process:
 *
 * - keyed digests (generated secrets) are checked directly: microseconds;
 * - a KDF hash (chosen secrets) is checked once, then the success is remembered under a digest of client id,
 *   presented secret and stored hash, so a new stored hash (rotation) or another secret never hits it;
 *   concurrent checks of the same credentials share one derivation, and hashes that share a salt share it too;
 * - KDF work runs under a KdfLimiter, shared in turn between requesters (client id and address), which sheds
 *   the longest queue's work past its bound (KdfBusyError).
 *
 * The cache holds digests and booleans only, never a secret.
 */
export class SecretVerifier implements OnModuleDestroy {
  private readonly verified: LRUCache<string, true> | undefined;
  private readonly inFlight = new Map<string, Promise<number>>();
  private readonly limiter: KdfLimiter;
  private averageMs: number | undefined;
  private calibration: Promise<number> | undefined;
  private readonly stopObservingLoad: () => void;

  /** `metrics`: told each derivation's wait for its turn, and able to read the limiter's load. */
  constructor(
    private readonly hasher: ClientSecretHasher,
    options: SecretVerifierOptions,
    metrics?: OAuth2Metrics,
  ) {
    this.verified =
      options.cacheTtl > 0
        ? new LRUCache({ max: options.cacheMax, ttl: options.cacheTtl * 1000 })
        : undefined;
    this.limiter = new KdfLimiter(
      options.maxConcurrentKdf,
      options.maxQueuedKdf,
      metrics && ((ms) => metrics.kdfWait(ms)),
    );
    this.stopObservingLoad = metrics?.observeKdfLoad(() => this.limiter.load) ?? (() => {});
  }

  /**
   * Nest calls it when the module is destroyed (also for an instance a factory built): the metrics outlive the
   * app, and must stop reading this verifier's limiter, which would keep it (hasher, pepper, cache) alive.
   */
  onModuleDestroy(): void {
    this.stopObservingLoad();
  }

  /** Whether the secret matches the stored hash. */
  async verify(
    clientId: string,
    secret: string,
    stored: string,
    requester?: string,
  ): Promise<boolean> {
    return (await this.verifyAny(clientId, secret, [stored], requester)) === 0;
  }

  /**
   * The index of the stored hash (one of a client's secrets) the secret matches, or -1. A correct secret costs
   * at most one KDF derivation however many secrets the client holds: keyed digests are tried first (each in
   * microseconds), then remembered successes, then one derivation per salt, and a client's chosen secrets share
   * one salt (ClientSecretHasher `sameSaltAs`).
   */
  async verifyAny(
    clientId: string,
    secret: string,
    stored: readonly string[],
    requester = '',
  ): Promise<number> {
    const groups = new Map<string, number[]>();
    for (const [i, hash] of stored.entries()) {
      const group = this.hasher.scryptGroupOf(hash);
      if (group === undefined) {
        if (await this.hasher.verify(secret, hash)) return i;
      } else {
        if (this.verified?.get(credentialKey(clientId, secret, hash))) return i;
        groups.set(group, [...(groups.get(group) ?? []), i]);
      }
    }
    for (const indices of groups.values()) {
      const found = await this.verifyGroup(
        clientId,
        secret,
        indices.map((i) => stored[i]),
        requester,
      );
      if (found >= 0) return indices[found];
    }
    return -1;
  }

  /** One derivation for hashes sharing a salt; concurrent checks of the same credentials share it. */
  private verifyGroup(
    clientId: string,
    secret: string,
    hashes: string[],
    requester: string,
  ): Promise<number> {
    const key = credentialKey(clientId, secret, hashes.join('\n'));
    let pending = this.inFlight.get(key);
    if (!pending) {
      const started = this.limiter.run(requesterKey(clientId, requester), () =>
        this.timed(() => this.hasher.verifyScryptGroup(secret, hashes)),
      );
      pending = started;
      this.inFlight.set(key, started);
      started.then(
        (found) => {
          this.inFlight.delete(key);
          if (found >= 0) this.verified?.set(credentialKey(clientId, secret, hashes[found]), true);
        },
        () => this.inFlight.delete(key),
      );
    }
    return pending;
  }

  /** Runs a KDF derivation (hashing a legacy secret) under the same bound and share. */
  derive<T>(clientId: string, work: () => Promise<T>, requester = ''): Promise<T> {
    return this.limiter.run(requesterKey(clientId, requester), work);
  }

  /**
   * How long one KDF derivation takes here, in milliseconds: a moving average of the real ones, first
   * measured on a throwaway hash when asked before any ran. Failed authentications that did no KDF work are
   * padded to it, so their timing does not tell which client ids hold a chosen secret.
   */
  async derivationMs(): Promise<number> {
    if (this.averageMs !== undefined) return this.averageMs;
    this.calibration ??= this.timed(() =>
      this.hasher.verifyScryptGroup('calibration', [CALIBRATION_HASH]),
    ).then(() => this.averageMs!);
    return this.calibration;
  }

  /** Runs a derivation and folds its duration into the average. */
  private async timed<T>(derivation: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await derivation();
    } finally {
      const took = performance.now() - started;
      this.averageMs =
        this.averageMs === undefined ? took : this.averageMs + (took - this.averageMs) * 0.1;
    }
  }

  /** KDF derivations running and waiting. */
  get load(): { running: number; waiting: number } {
    return this.limiter.load;
  }
}

/** A well-formed scrypt hash of the default cost that no secret matches: derived to time one derivation. */
const CALIBRATION_HASH = `$scrypt$ln=15,r=8,p=1$${'A'.repeat(22)}$${'A'.repeat(32)}`;

/** Whose turn a derivation waits for: the client id and the remote address it came from. */
const requesterKey = (clientId: string, requester: string) =>
  `${clientId.length}:${clientId}${requester}`;

/** No two different triples share a key. */
const credentialKey = (clientId: string, secret: string, stored: string) =>
  fieldsDigest(clientId, secret, stored);
