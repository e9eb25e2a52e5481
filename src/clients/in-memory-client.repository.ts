import { OAuthClient } from './oauth-client.entity.js';
import { OAuthClientRepository } from './oauth-client.repository.js';

/**
 * Keeps clients in process memory: for tests, and for services whose clients come from configuration. Stores
 * and returns copies, so a caller's later changes never leak into the store.
 */
export class InMemoryOAuthClientRepository extends OAuthClientRepository {
  private readonly clients = new Map<string, OAuthClient>();

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
    this.clients.set(client.clientId, OAuthClient.create(client));
  }

  async updateSecret(clientId: string, expected: string, next: string): Promise<boolean> {
    const client = this.clients.get(clientId);
    if (!client || client.clientSecret !== expected) return false;
    client.clientSecret = next;
    return true;
  }

  async delete(clientId: string): Promise<boolean> {
    return this.clients.delete(clientId);
  }
}
