import { checkNewSecretId } from './oauth-client-secret.entity.js';
import { OAuthClient, PRIMARY_SECRET_ID, type OAuthClientSecret } from './oauth-client.entity.js';
import { OAuthClientRepository } from './oauth-client.repository.js';
import { checkSubject } from './subject.js';

const copyDate = (date: Date | null) => (date === null ? null : new Date(date.getTime()));
const copySecret = (secret: OAuthClientSecret): OAuthClientSecret => ({
  ...secret,
  createdAt: copyDate(secret.createdAt),
  expiresAt: copyDate(secret.expiresAt),
  lastUsedAt: copyDate(secret.lastUsedAt),
});
/** Would a secret expiring at `expiresAt` (null: never) outlive `at`? */
const outlives = (expiresAt: Date | null, at: Date) => expiresAt === null || expiresAt > at;

/**
 * Keeps clients and their secrets in process memory: for tests, and for services whose clients come from
 * configuration. Stores and returns copies, so a caller's later changes never leak into the store.
 */
export class InMemoryOAuthClientRepository extends OAuthClientRepository {
  private readonly clients = new Map<string, OAuthClient>();
  /** The secret rows of each client that has any; every one has a `createdAt`. */
  private readonly secrets = new Map<string, OAuthClientSecret[]>();

  constructor(clients: Iterable<OAuthClient> = []) {
    super();
    for (const client of clients) this.clients.set(client.clientId, OAuthClient.create(client));
  }

  async findById(clientId: string): Promise<OAuthClient | null> {
    const client = this.clients.get(clientId);
    return client ? OAuthClient.create(client) : null;
  }

  async list(): Promise<OAuthClient[]> {
    return [...this.clients.values()]
      .sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0))
      .map((client) => OAuthClient.create(client));
  }

  async save(client: OAuthClient): Promise<void> {
    const stored = this.clients.get(client.clientId) ?? null;
    // The map itself, not findById: a subclass may change how reads behave (a test's broken storage).
    await checkSubject(
      OAuthClient.create(client),
      {
        findById: async (id) => {
          const found = this.clients.get(id);
          return found ? OAuthClient.create(found) : null;
        },
        findByUserId: async (userId) =>
          [...this.clients.values()].filter((other) => other.userId === userId),
      },
      stored,
    );
    this.clients.set(client.clientId, OAuthClient.create(client));
  }

  async updateSecret(clientId: string, expected: string, next: string): Promise<boolean> {
    const client = this.clients.get(clientId);
    if (!client || client.clientSecret !== expected) return false;
    client.clientSecret = next;
    return true;
  }

  async delete(clientId: string): Promise<boolean> {
    this.secrets.delete(clientId);
    return this.clients.delete(clientId);
  }

  override async findSecrets(clientId: string): Promise<OAuthClientSecret[]> {
    // Oldest first, ties by id: the order the TypeORM repository's query gives.
    return (this.secrets.get(clientId) ?? [])
      .map(copySecret)
      .sort(
        (a, b) =>
          a.createdAt!.getTime() - b.createdAt!.getTime() ||
          (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      );
  }

  override async addSecret(clientId: string, secret: OAuthClientSecret): Promise<void> {
    checkNewSecretId(clientId, secret.id);
    if (!this.clients.has(clientId)) throw new Error(`no client with id '${clientId}'`);
    // Ids are unique across clients, as the table's primary key makes them.
    if ([...this.secrets.values()].some((own) => own.some((s) => s.id === secret.id))) {
      throw new Error(`a secret with id '${secret.id}' exists already`);
    }
    const own = this.secrets.get(clientId) ?? [];
    const added = copySecret({ ...secret, createdAt: secret.createdAt ?? new Date() });
    this.secrets.set(clientId, [...own, added]);
  }

  override async removeSecret(clientId: string, secretId: string): Promise<boolean> {
    const own = this.secrets.get(clientId) ?? [];
    const kept = own.filter((secret) => secret.id !== secretId);
    if (kept.length === own.length) return false;
    if (kept.length > 0) this.secrets.set(clientId, kept);
    else this.secrets.delete(clientId);
    return true;
  }

  override async expireSecrets(
    clientId: string,
    secretIds: readonly string[],
    at: Date,
  ): Promise<void> {
    const client = this.clients.get(clientId);
    if (!client) return;
    if (secretIds.includes(PRIMARY_SECRET_ID) && outlives(client.clientSecretExpiresAt, at)) {
      client.clientSecretExpiresAt = copyDate(at);
    }
    for (const secret of this.secrets.get(clientId) ?? []) {
      if (secretIds.includes(secret.id) && outlives(secret.expiresAt, at)) {
        secret.expiresAt = copyDate(at);
      }
    }
  }

  override async updateSecretHash(
    clientId: string,
    secretId: string,
    expected: string,
    next: string,
  ): Promise<boolean> {
    if (secretId === PRIMARY_SECRET_ID) return this.updateSecret(clientId, expected, next);
    const secret = this.secrets.get(clientId)?.find((s) => s.id === secretId);
    if (!secret || secret.hash !== expected) return false;
    secret.hash = next;
    return true;
  }

  override async touchSecret(clientId: string, secretId: string, at: Date): Promise<void> {
    const client = this.clients.get(clientId);
    if (!client) return;
    if (secretId === PRIMARY_SECRET_ID) client.clientSecretLastUsedAt = copyDate(at);
    const secret = this.secrets.get(clientId)?.find((s) => s.id === secretId);
    if (secret) secret.lastUsedAt = copyDate(at);
  }
}
