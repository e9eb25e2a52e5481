import type { Repository } from 'typeorm';
import { typeOrm } from '../storage/optional-typeorm.js';
import { checkNewSecretId, OAuthStoredClientSecret } from './oauth-client-secret.entity.js';
import { OAuthClient, PRIMARY_SECRET_ID, type OAuthClientSecret } from './oauth-client.entity.js';
import { OAuthClientRepository } from './oauth-client.repository.js';
import { checkSubject } from './subject.js';

/**
 * The default storage: the `oauth_clients` table through a TypeORM repository, and, given its repository, the
 * table of the clients' further secrets (`oauth_client_secrets`). Without it, a client has `client_secret`
 * only, as in the seed.
 *
 * Every id is compared exactly (RFC 6749 §2.2), whatever the database's collation: on MariaDB/MySQL a table
 * the migrations did not create (a legacy table, or one `synchronize` made) compares case-insensitively and
 * blind to trailing spaces. So a row is only ever taken for a client's after its id was read back and found
 * equal, and a write goes by the ids found so.
 */
export class TypeOrmOAuthClientRepository extends OAuthClientRepository {
  /** TypeORM's operators, from the one place that loads the optional peer. */
  private readonly orm = typeOrm('TypeOrmOAuthClientRepository');

  constructor(
    private readonly repository: Repository<OAuthClient>,
    private readonly secrets?: Repository<OAuthStoredClientSecret>,
  ) {
    super();
  }

  async findById(clientId: string): Promise<OAuthClient | null> {
    const client = await this.repository.findOneBy({ clientId });
    // The client_id collation migration makes the database exact; this keeps a table that was never migrated
    // (a legacy seed table) exact too.
    return client !== null && client.clientId === clientId ? client : null;
  }

  list(): Promise<OAuthClient[]> {
    return this.repository.find({ order: { clientId: 'ASC' } });
  }

  /**
   * Writes go by the exact id too: on a table whose collation matches `TESTCLIENT` to `testclient`, an update
   * of the one must never reach the other, and a new client must never replace another's row (the insert
   * fails on the primary key instead).
   */
  async save(client: OAuthClient): Promise<void> {
    const row = this.repository.create(OAuthClient.create(client));
    const stored = await this.findById(client.clientId);
    await checkSubject(
      row,
      {
        findById: (id) => this.findById(id),
        findByUserId: (userId) => this.findByUserId(userId),
      },
      stored,
    );
    if (stored) {
      await this.repository.update({ clientId: client.clientId }, row);
      return;
    }
    // Rows a client of this id left behind (a delete that failed half-way, an addSecret that raced it) must
    // never become a new client's secrets.
    await this.deleteSecretRows(client.clientId);
    await this.repository.insert(row);
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
    // The secrets first: the client's row is what makes them count, so a failure between the two leaves a
    // client with fewer secrets, never secrets waiting for a new client of the same id.
    await this.deleteSecretRows(clientId);
    const result = await this.repository.delete({ clientId });
    return (result.affected ?? 0) > 0;
  }

  override async findSecrets(clientId: string): Promise<OAuthClientSecret[]> {
    return (await this.secretRows(clientId)).map((row) => ({
      id: row.id,
      hash: row.secretHash,
      createdAt: row.createdAt,
      expiresAt: row.expiresAt,
      lastUsedAt: row.lastUsedAt,
    }));
  }

  override async addSecret(clientId: string, secret: OAuthClientSecret): Promise<void> {
    if (!this.secrets) return super.addSecret(clientId, secret);
    checkNewSecretId(clientId, secret.id);
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
    const result = await this.secrets.delete({ id: secretId });
    return (result.affected ?? 0) > 0;
  }

  override async expireSecrets(
    clientId: string,
    secretIds: readonly string[],
    at: Date,
  ): Promise<void> {
    if (!(await this.findById(clientId))) return;
    // Only where it would expire later or never, in one statement per case: an overlap never extends a
    // secret, and a concurrent write to another column is never undone.
    if (secretIds.includes(PRIMARY_SECRET_ID)) {
      for (const clientSecretExpiresAt of [this.orm.IsNull(), this.orm.MoreThan(at)]) {
        await this.repository.update(
          { clientId, clientSecretExpiresAt },
          { clientSecretExpiresAt: at },
        );
      }
    }
    const own = (await this.ownSecretIds(clientId)).filter((id) => secretIds.includes(id));
    if (!this.secrets || own.length === 0) return;
    for (const expiresAt of [this.orm.IsNull(), this.orm.MoreThan(at)]) {
      await this.secrets.update({ id: this.orm.In(own), expiresAt }, { expiresAt: at });
    }
  }

  override async updateSecretHash(
    clientId: string,
    secretId: string,
    expected: string,
    next: string,
  ): Promise<boolean> {
    if (secretId === PRIMARY_SECRET_ID) return this.updateSecret(clientId, expected, next);
    if (!this.secrets || !(await this.ownSecretIds(clientId)).includes(secretId)) return false;
    const result = await this.secrets.update(
      { id: secretId, secretHash: expected },
      { secretHash: next },
    );
    return (result.affected ?? 0) > 0;
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

  /**
   * The clients whose `user_id` is this one (checkSubject compares what they hold exactly). A legacy table
   * may keep `user_id` as an INTEGER: PostgreSQL then refuses to compare it with a string that is not a
   * number (22P02, invalid_text_representation), and no row could have matched it.
   */
  private async findByUserId(userId: string): Promise<OAuthClient[]> {
    try {
      return await this.repository.findBy({ userId });
    } catch (error) {
      const code =
        error instanceof this.orm.QueryFailedError
          ? (error.driverError as { code?: unknown }).code
          : undefined;
      if (code === '22P02') return [];
      throw error;
    }
  }

  /** The client's secret rows, oldest first: exactly its own, whatever the collation matched. */
  private async secretRows(clientId: string): Promise<OAuthStoredClientSecret[]> {
    if (!this.secrets) return [];
    const rows = await this.secrets.find({
      where: { clientId },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
    return rows.filter((row) => row.clientId === clientId);
  }

  private async ownSecretIds(clientId: string): Promise<string[]> {
    return (await this.secretRows(clientId)).map((row) => row.id);
  }

  /** Deletes the client's own secret rows by their ids: `client_id = ?` could match another id's. */
  private async deleteSecretRows(clientId: string): Promise<void> {
    const ids = await this.ownSecretIds(clientId);
    if (this.secrets && ids.length > 0) await this.secrets.delete({ id: this.orm.In(ids) });
  }
}
