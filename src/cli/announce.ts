import { clientRevocation, type OAuth2Change, type OAuth2EventSink } from '../index.js';
import type { RedisState } from '../redis/redis-state.js';

/**
 * What the servers must hear of a command's result at once (with REDIS_URL), after the database change: without
 * it they see a client change within their client cache TTL, a key change within their key refresh interval,
 * and tokens already issued stay valid until they expire.
 */
export interface Announcement {
  /** Clients whose record or secrets changed: every server evicts its cached copy. */
  clients?: readonly string[];
  /** Clients whose every token issued until now is refused: disabled, deleted, no live secret left. */
  revokeTokensOf?: readonly string[];
  /** The key store changed: every server reloads its keys. */
  keys?: boolean;
}

/** Exit status of a command whose database change stands but could not be announced through REDIS_URL. */
export const NOT_ANNOUNCED_EXIT_CODE = 3;

export function isEmpty({ clients = [], revokeTokensOf = [], keys }: Announcement): boolean {
  return clients.length === 0 && revokeTokensOf.length === 0 && !keys;
}

/**
 * Records the revocations (durable in Redis, published by the store), then publishes the changes. A client's
 * revocation keeps its tokens refused until the longest of them has expired; the CLI has no clock tolerance
 * setting, the module's default is 0.
 */
export async function announce(
  state: RedisState,
  { clients = [], revokeTokensOf = [], keys }: Announcement,
  {
    maxAccessTokenLifetime,
    now = Date.now(),
    events,
  }: {
    maxAccessTokenLifetime: number;
    now?: number;
    /** Told of each revocation once recorded (`oauth2.token.revoked`, `jti` null: every token). */
    events?: OAuth2EventSink;
  },
): Promise<void> {
  for (const clientId of revokeTokensOf) {
    await state.revocations.revoke(
      clientRevocation(clientId, now, { maxAccessTokenLifetime, clockTolerance: 0 }),
    );
    events?.emit({
      type: 'oauth2.token.revoked',
      clientId,
      jti: null,
      // Without a clock tolerance, tokens issued before `now` are refused.
      notBefore: new Date(now).toISOString(),
      source: 'cli',
    });
  }
  const changes: OAuth2Change[] = clients.map((clientId) => ({ type: 'client', clientId }));
  if (keys) changes.push({ type: 'keys' });
  for (const change of changes) await state.feed.publish(change);
}

/** What did not reach the servers, and what they do anyway, after `problem` (the Redis error). */
export function notAnnouncedWarning(
  { clients = [], revokeTokensOf = [], keys }: Announcement,
  problem: string,
): string {
  const quoted = (ids: readonly string[]) => ids.map((id) => `'${id}'`).join(', ');
  const parts = [
    `the change is saved in the database, but the servers were not told of it (${problem}):`,
  ];
  if (clients.length > 0) {
    parts.push(
      `each server sees the change to client ${quoted(clients)} only when its client cache entry ` +
        'expires (5 s by default);',
    );
  }
  if (revokeTokensOf.length > 0) {
    parts.push(
      `the access tokens client ${quoted(revokeTokensOf)} already holds stay valid until they expire ` +
        `(run \`nest-oauth2 client revoke-tokens ${revokeTokensOf[0]}\` once Redis is back);`,
    );
  }
  if (keys) {
    parts.push('each server loads the keys at its next key refresh (OAUTH2_KEY_REFRESH_INTERVAL);');
  }
  return parts.join(' ').replace(/;$/, '');
}
