import { In, IsNull, LessThan, Not, type Repository } from 'typeorm';
import { OAuthStoredClientSecret } from './oauth-client-secret.entity.js';
import { OAuthClient, PRIMARY_SECRET_ID, type OAuthClientSecret } from './oauth-client.entity.js';
import { OAuthClientRepository } from './oauth-client.repository.js';
import { checkSubject } from './subject.js';

/**
 * The default storage: the `oauth_clients` table through a TypeORM repository, and, given its repository, the
 * table of the clients' further secrets (`oauth_client_secrets`). Without it, a client has `client_secret`
 * only, as in the seed.
 */
export class TypeOrmOAuthClientRepository extends OAuthClientRepository {
  constructor(
    private readonly repository: Repository<OAuthClient>,
    private readonly secrets?: Repository<OAuthStoredClientSecret>,
  ) {
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
    await checkSubject(row, {
      findById: (id) => this.findById(id),
      findByUserId: async (userId) =>
        (await this.repository.findBy({ userId })).filter((other) => other.userId === userId),
    });
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
    if (this.secrets) await this.secrets.delete({ clientId });
    return (result.affected ?? 0) > 0;
  }

  override async findSecrets(clientId: string): Promise<OAuthClientSecret[]> {
    if (!this.secrets) return [];
    const rows = await this.secrets.find({
      where: { clientId },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
    // Exact ids, as findById: a collation that matched another client's rows does not hand them over.
    return rows
      .filter((row) => row.clientId === clientId)
      .map((row) => ({
        id: row.id,
        hash: row.secretHash,
        createdAt: row.createdAt,
        expiresAt: row.expiresAt,
        lastUsedAt: row.lastUsedAt,
      }));
  }

  override async addSecret(clientId: string, secret: OAuthClientSecret): Promise<void> {
    if (!this.secrets) return super.addSecret(clientId, secret);
    if (!(await this.findById(clientId))) throw new Error(`no client with id '${clientId}'`);
    await this.secrets.insert({
      id: secret.id,
      clientId,
      secretHash: secret.hash,
      createdAt: secret.createdAt ?? new Date(),
      expiresAt: secret.expiresAt,
      lastUsedAt: secret.lastUsedAt,
    });
  }

  override async removeSecret(clientId: string, secretId: string): Promise<boolean> {
    if (!this.secrets || secretId === PRIMARY_SECRET_ID) return false;
    if (!(await this.ownSecretIds(clientId)).includes(secretId)) return false;
    const result = await this.secrets.delete({ id: secretId, clientId });
    return (result.affected ?? 0) > 0;
  }

  override async expireSecrets(
    clientId: string,
    secretIds: readonly string[],
    at: Date,
  ): Promise<void> {
    if (!(await this.findById(clientId))) return;
    // Only where it would expire later or never: an overlap never extends a secret.
    const later = [{ expiresAt: IsNull() }, { expiresAt: Not(LessThan(at)) }] as const;
    if (secretIds.includes(PRIMARY_SECRET_ID)) {
      for (const clientSecretExpiresAt of [IsNull(), Not(LessThan(at))]) {
        await this.repository.update(
          { clientId, clientSecretExpiresAt },
          { clientSecretExpiresAt: at },
        );
      }
    }
    const own = (await this.ownSecretIds(clientId)).filter((id) => secretIds.includes(id));
    if (!this.secrets || own.length === 0) return;
    for (const condition of later) {
      await this.secrets.update({ ...condition, id: In(own) }, { expiresAt: at });
    }
  }

  override async touchSecret(clientId: string, secretId: string, at: Date): Promise<void> {
    if (secretId === PRIMARY_SECRET_ID) {
      if (await this.findById(clientId)) {
        await this.repository.update({ clientId }, { clientSecretLastUsedAt: at });
      }
      return;
    }
    if (this.secrets && (await this.ownSecretIds(clientId)).includes(secretId)) {
      await this.secrets.update({ id: secretId }, { lastUsedAt: at });
    }
  }

  private async ownSecretIds(clientId: string): Promise<string[]> {
    return (await this.findSecrets(clientId)).map((secret) => secret.id);
  }
}
