import type { OAuth2RevocationRecord } from './change-feed.js';

/** What the revocation check reads of a verified access token. */
export interface OAuth2RevocationSubject {
  /** The token's `jti`. */
  jti: string;
  /** Its `client_id` claim. */
  clientId: string;
  /** Its `iat`, in seconds since the epoch. */
  issuedAt: number;
}

/**
 * The revoked access tokens (RFC 7009) and the clients whose tokens were all revoked (disabled, deleted, every
 * secret revoked), and the DI token to replace it. Checking is synchronous and local: each instance holds the
 * whole list in memory (it is small: a revocation lives only until the token it names expires), so the guard
 * makes no round trip per request. The default keeps it in this process; with `store: { redis }` it is kept in
 * Redis and every instance's copy follows it through the change feed.
 */
export abstract class OAuth2RevocationStore {
  /**
   * Records `revocation` so every instance refuses what it names until its `expiresAt`. Resolves once that is
   * durable; rejects when it cannot be (the store is down): the caller answers 503, nothing is half-done
   * silently. A record whose `expiresAt` has passed is a no-op.
   */
  abstract revoke(revocation: OAuth2RevocationRecord): Promise<void>;

  /** Whether the token is revoked, from this instance's copy: no I/O. */
  abstract isRevoked(token: OAuth2RevocationSubject): boolean;
}

/**
 * A client's revocation at `now`: its tokens issued at or before `now + clockTolerance` are refused, so tokens
 * stamped by an instance whose clock runs ahead by up to `clockTolerance` are caught too (the price: a token
 * this client gets within `clockTolerance` seconds after the revocation is refused as well). Kept until the
 * longest of them has expired (`maxAccessTokenLifetime` plus `clockTolerance` after that not-before). `iat` has
 * whole seconds, so a token issued later within the same second is refused too.
 */
export function clientRevocation(
  clientId: string,
  now: number,
  {
    maxAccessTokenLifetime,
    clockTolerance,
  }: { maxAccessTokenLifetime: number; clockTolerance: number },
): OAuth2RevocationRecord {
  const notBefore = now + clockTolerance * 1000;
  return {
    kind: 'client',
    clientId,
    notBefore,
    expiresAt: notBefore + (maxAccessTokenLifetime + clockTolerance + 1) * 1000,
  };
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * The revocations this instance knows, in memory: a map of revoked `jti`s and one of clients' not-before
 * times, each entry dropped once its `expiresAt` has passed (swept at most once a minute, on use). The default
 * store of one instance; a shared store keeps one of these as its local copy.
 */
export class InMemoryOAuth2RevocationStore extends OAuth2RevocationStore {
  private readonly tokens = new Map<string, number>();
  private readonly clients = new Map<string, { notBefore: number; expiresAt: number }>();
  private nextSweepAt = 0;

  async revoke(revocation: OAuth2RevocationRecord): Promise<void> {
    this.apply(revocation);
  }

  /** Records `revocation` in this copy only (what a shared store does with one it heard of). */
  apply(revocation: OAuth2RevocationRecord, now = Date.now()): void {
    if (revocation.expiresAt <= now) return;
    if (revocation.kind === 'token') {
      this.tokens.set(
        revocation.jti,
        Math.max(revocation.expiresAt, this.tokens.get(revocation.jti) ?? 0),
      );
      return;
    }
    const known = this.clients.get(revocation.clientId);
    this.clients.set(revocation.clientId, {
      notBefore: Math.max(revocation.notBefore, known?.notBefore ?? 0),
      expiresAt: Math.max(revocation.expiresAt, known?.expiresAt ?? 0),
    });
  }

  /** The unexpired revocations held, as records (what a shared store writes back to a store that lost them). */
  records(now = Date.now()): OAuth2RevocationRecord[] {
    const records: OAuth2RevocationRecord[] = [];
    for (const [jti, expiresAt] of this.tokens) {
      if (expiresAt > now) records.push({ kind: 'token', jti, expiresAt });
    }
    for (const [clientId, { notBefore, expiresAt }] of this.clients) {
      if (expiresAt > now) records.push({ kind: 'client', clientId, notBefore, expiresAt });
    }
    return records;
  }

  isRevoked({ jti, clientId, issuedAt }: OAuth2RevocationSubject): boolean {
    const now = Date.now();
    if (now >= this.nextSweepAt) this.sweep(now);
    const tokenUntil = this.tokens.get(jti);
    if (tokenUntil !== undefined && tokenUntil > now) return true;
    const client = this.clients.get(clientId);
    // iat has whole seconds: a token of the revocation's own second is refused too.
    return (
      client !== undefined &&
      client.expiresAt > now &&
      issuedAt <= Math.floor(client.notBefore / 1000)
    );
  }

  /** Entries held, expired ones not yet swept included. */
  get size(): number {
    return this.tokens.size + this.clients.size;
  }

  private sweep(now: number): void {
    for (const [jti, until] of this.tokens) if (until <= now) this.tokens.delete(jti);
    for (const [clientId, { expiresAt }] of this.clients) {
      if (expiresAt <= now) this.clients.delete(clientId);
    }
    this.nextSweepAt = now + SWEEP_INTERVAL_MS;
  }
}
