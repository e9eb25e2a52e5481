import { OAuthClient, PRIMARY_SECRET_ID, type OAuthClientSecret } from './oauth-client.entity.js';
import { OAuthClientRepository } from './oauth-client.repository.js';
import { checkSubject } from './subject.js';

/**
 * Keeps clients and their secrets in process memory: for tests, and for services whose clients come from
 * configuration. Stores and returns copies, so a caller's later changes never leak into the store.
 */
export class InMemoryOAuthClientRepository extends OAuthClientRepository {
  private readonly clients = new Map<string, OAuthClient>();
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
    // The map itself, not findById: a subclass may change how reads behave (a test's broken storage).
    await checkSubject(OAuthClient.create(client), {
      findById: async (id) => this.clients.get(id) ?? null,
      findByUserId: async (userId) =>
        [...this.clients.values()].filter((other) => other.userId === userId),
    });
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
    return (this.secrets.get(clientId) ?? []).map((secret) => ({ ...secret }));
  }

  override async addSecret(clientId: string, secret: OAuthClientSecret): Promise<void> {
    if (!this.clients.has(clientId)) throw new Error(`no client with id '${clientId}'`);
    const own = this.secrets.get(clientId) ?? [];
    if (secret.id === PRIMARY_SECRET_ID || own.some((s) => s.id === secret.id)) {
      throw new Error(`client '${clientId}' has a secret with id '${secret.id}' already`);
    }
    this.secrets.set(clientId, [...own, { ...secret, createdAt: secret.createdAt ?? new Date() }]);
  }

  override async removeSecret(clientId: string, secretId: string): Promise<boolean> {
    const own = this.secrets.get(clientId) ?? [];
    const kept = own.filter((secret) => secret.id !== secretId);
    this.secrets.set(clientId, kept);
    return kept.length < own.length;
  }

  override async expireSecrets(
    clientId: string,
    secretIds: readonly string[],
    at: Date,
  ): Promise<void> {
    const later = (expiresAt: Date | null) => expiresAt === null || expiresAt > at;
    const client = this.clients.get(clientId);
    if (client && secretIds.includes(PRIMARY_SECRET_ID) && later(client.clientSecretExpiresAt)) {
      client.clientSecretExpiresAt = at;
    }
    for (const secret of this.secrets.get(clientId) ?? []) {
      if (secretIds.includes(secret.id) && later(secret.expiresAt)) secret.expiresAt = at;
    }
  }

  override async touchSecret(clientId: string, secretId: string, at: Date): Promise<void> {
    const client = this.clients.get(clientId);
    if (client && secretId === PRIMARY_SECRET_ID) client.clientSecretLastUsedAt = at;
    const secret = this.secrets.get(clientId)?.find((s) => s.id === secretId);
    if (secret) secret.lastUsedAt = at;
  }
}
