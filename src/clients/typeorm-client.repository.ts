import type { Repository } from 'typeorm';
import { OAuthClient } from './oauth-client.entity.js';
import { OAuthClientRepository } from './oauth-client.repository.js';

/** The default storage: the `oauth_clients` table through a TypeORM repository. */
export class TypeOrmOAuthClientRepository extends OAuthClientRepository {
  constructor(private readonly repository: Repository<OAuthClient>) {
    super();
  }

  findById(clientId: string): Promise<OAuthClient | null> {
    return this.repository.findOneBy({ clientId });
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
