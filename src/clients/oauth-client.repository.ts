import {
  OAuthClient,
  PRIMARY_SECRET_ID,
  secretsOf,
  type OAuthClientSecret,
} from './oauth-client.entity.js';

/**
 * Client storage, and the DI token to replace it: provide your own subclass with the module's
 * `clientRepository` extra, or `.overrideProvider(OAuthClientRepository)` in a test.
 *
 * The five abstract methods are all a storage needs for clients with one secret (the seed's `client_secret`).
 * The secret methods below add several secrets per client, with expiry (rotation without downtime); a storage
 * that keeps only `client_secret` leaves them as they are: it lists no other secret and refuses to add one.
 *
 * Implementations let storage errors propagate; the token endpoint answers them with a 503.
 */
export abstract class OAuthClientRepository {
  /** The client with this exact (case-sensitive) id, or null. */
  abstract findById(clientId: string): Promise<OAuthClient | null>;

  /** Every client, ordered by id. */
  abstract list(): Promise<OAuthClient[]>;

  /**
   * Inserts the client, or replaces the one with the same id. Refuses (throws) a `userId` that is empty or
   * another client's id, and a new client whose id is another client's `userId`: `sub` names one client only.
   */
  abstract save(client: OAuthClient): Promise<void>;

  /**
   * Replaces the stored secret only if it still equals `expected` (compare-and-set), so concurrent upgrades
   * of a legacy secret cannot overwrite each other. True when this call changed the row.
   */
  abstract updateSecret(clientId: string, expected: string, next: string): Promise<boolean>;

  /** Deletes the client, and its secrets; false when there was none. */
  abstract delete(clientId: string): Promise<boolean>;

  /**
   * The client's secrets besides `client_secret` (expired ones too), oldest first.
   * @default none: this storage keeps `client_secret` only
   */
  findSecrets(_clientId: string): Promise<OAuthClientSecret[]> {
    return Promise.resolve([]);
  }

  /** Adds a secret (its `id` chosen by the caller, unique) to an existing client. */
  addSecret(_clientId: string, _secret: OAuthClientSecret): Promise<void> {
    return Promise.reject(
      new Error(`${this.constructor.name} stores no secret besides client_secret`),
    );
  }

  /**
   * Deletes one secret of `findSecrets()`; false when the client has no such secret. (`client_secret` is
   * revoked by expiring it: emptying it would make the client public.)
   */
  removeSecret(_clientId: string, _secretId: string): Promise<boolean> {
    return Promise.resolve(false);
  }

  /**
   * Sets the expiry of these secrets (`primary` for `client_secret`) to `at`, where they expire later or
   * never: a rotation's overlap never extends a secret.
   */
  async expireSecrets(clientId: string, secretIds: readonly string[], at: Date): Promise<void> {
    // The default reads and writes the whole client; a storage with secret rows updates them in place.
    if (!secretIds.includes(PRIMARY_SECRET_ID)) return;
    const client = await this.findById(clientId);
    if (!client || (client.clientSecretExpiresAt !== null && client.clientSecretExpiresAt <= at)) {
      return;
    }
    await this.save(OAuthClient.create({ ...client, clientSecretExpiresAt: at }));
  }

  /**
   * A rotation: adds `secret`, then sets every secret the client had before to expire at `expireOthersAt`
   * (as `expireSecrets`: never later than they would). Added first, so the client holds a valid secret
   * throughout. One operation, so that a wrapper (the audit events) sees a rotation, not two changes.
   * @param added called once `secret` is stored, before the others are set to expire: the default is not
   *   atomic, and a wrapper must know the secret was added even if the expiry then fails
   * @returns the ids of the secrets set to expire
   */
  async rotateSecret(
    clientId: string,
    secret: OAuthClientSecret,
    expireOthersAt: Date,
    added?: () => void,
  ): Promise<string[]> {
    const client = await this.findById(clientId);
    if (!client) throw new Error(`no client with id '${clientId}'`);
    const others = secretsOf(client, await this.findSecrets(clientId)).map((other) => other.id);
    await this.addSecret(clientId, secret);
    added?.();
    await this.expireSecrets(clientId, others, expireOthersAt);
    return others;
  }

  /**
   * Replaces one secret's hash (`primary`: `client_secret`) only if it still equals `expected`
   * (compare-and-set), to upgrade it in place (under a new pepper). True when this call changed it.
   * @default `updateSecret` for `primary`; other secrets are left as they are
   */
  updateSecretHash(
    clientId: string,
    secretId: string,
    expected: string,
    next: string,
  ): Promise<boolean> {
    return secretId === PRIMARY_SECRET_ID
      ? this.updateSecret(clientId, expected, next)
      : Promise.resolve(false);
  }

  /**
   * Records when a secret (`primary` for `client_secret`) last authenticated the client: a single-column
   * update, never a read-modify-write that could undo a concurrent rotation.
   * @default nothing is recorded
   */
  touchSecret(_clientId: string, _secretId: string, _at: Date): Promise<void> {
    return Promise.resolve();
  }

  /**
   * What this repository answers for `clientId` at once, without I/O: a cache's copies of the client (null:
   * known not to exist) and of its secrets, when it holds both. Undefined sends the caller to `findById()`
   * and `findSecrets()`, bounded by the storage timeout.
   * @default undefined: no cache
   */
  findCached(_clientId: string): CachedClient | undefined {
    return undefined;
  }
}

/** A client (null: none has the id) and its secrets, as a cache holds them. */
export interface CachedClient {
  client: OAuthClient | null;
  secrets: OAuthClientSecret[];
}
