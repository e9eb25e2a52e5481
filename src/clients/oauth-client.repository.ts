import type { OAuthClient } from './oauth-client.entity.js';

/**
 * Client storage, and the DI token to replace it: provide your own subclass with the module's
 * `clientRepository` extra, or `.overrideProvider(OAuthClientRepository)` in a test.
 *
 * Implementations let storage errors propagate; the token endpoint answers them with a 503.
 */
export abstract class OAuthClientRepository {
  /** The client with this exact (case-sensitive) id, or null. */
  abstract findById(clientId: string): Promise<OAuthClient | null>;

  /** Every client, ordered by id. */
  abstract list(): Promise<OAuthClient[]>;

  /** Inserts the client, or replaces the one with the same id. */
  abstract save(client: OAuthClient): Promise<void>;

  /**
   * Replaces the stored secret only if it still equals `expected` (compare-and-set), so concurrent upgrades
   * of a legacy secret cannot overwrite each other. True when this call changed the row.
   */
  abstract updateSecret(clientId: string, expected: string, next: string): Promise<boolean>;

  /** Deletes the client; false when there was none. */
  abstract delete(clientId: string): Promise<boolean>;
}
