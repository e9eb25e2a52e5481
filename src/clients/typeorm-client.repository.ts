import type { Repository } from 'typeorm';
import { OAuthClient } from './oauth-client.entity.js';
import { OAuthClientRepository } from './oauth-client.repository.js';

/** The default storage: the `oauth_clients` table through a TypeORM repository. */
export class TypeOrmOAuthClientRepository extends OAuthClientRepository {
  constructor(private readonly repository: Repository<OAuthClient>) {
    super();
  }

  async findById(clientId: string): Promise<OAuthClient | null> {
    const client = await this.repository.findOneBy({ clientId });
    // The database compares by the column's collation: on MariaDB/MySQL by default case-insensitively, and
    // blind to trailing spaces (PAD SPACE). A client id is compared exactly (RFC 6749 §2.2), so a row such a
    // collation matched is another client's. The client_id collation migration makes the database exact; this
    // keeps a table that was never migrated (a legacy seed table) exact too.
    return client !== null && client.clientId === clientId ? client : null;
  }

  list(): Promise<OAuthClient[]> {
    return this.repository.find({ order: { clientId: 'ASC' } });
  }

  async save(client: OAuthClient): Promise<void> {
    await this.repository.save(this.repository.create(OAuthClient.create(client)));
  }

  async updateSecret(clientId: string, expected: string, next: string): Promise<boolean> {
    const result = await this.repository.update(
      { clientId, clientSecret: expected },
      { clientSecret: next },
    );
    return (result.affected ?? 0) > 0;
  }

  async delete(clientId: string): Promise<boolean> {
    const result = await this.repository.delete({ clientId });
    return (result.affected ?? 0) > 0;
  }
}
