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

  /**
   * Writes go by the exact id too: on a table whose collation matches `TESTCLIENT` to `testclient`, an update
   * or delete of the one must never reach the other, and a new client must never replace another's row (the
   * insert fails on the primary key instead).
   */
  async save(client: OAuthClient): Promise<void> {
    const row = this.repository.create(OAuthClient.create(client));
    if (await this.findById(client.clientId)) {
      await this.repository.update({ clientId: client.clientId }, row);
    } else {
      await this.repository.insert(row);
    }
  }

  async updateSecret(clientId: string, expected: string, next: string): Promise<boolean> {
    if (!(await this.findById(clientId))) return false;
    const result = await this.repository.update(
      { clientId, clientSecret: expected },
      { clientSecret: next },
    );
    return (result.affected ?? 0) > 0;
  }

  async delete(clientId: string): Promise<boolean> {
    if (!(await this.findById(clientId))) return false;
    const result = await this.repository.delete({ clientId });
    return (result.affected ?? 0) > 0;
  }
}
