import { Column, Entity, Index, PrimaryColumn } from '../storage/optional-typeorm.js';
import { EPOCH_MILLISECONDS } from '../storage/columns.js';
import { PRIMARY_SECRET_ID } from './oauth-client.entity.js';

/** The default name of the table of the clients' further secrets; the module's `tablePrefix` goes before it. */
export const DEFAULT_CLIENT_SECRET_TABLE = 'oauth_client_secrets';

/**
 * A secret of a client besides the seed's `client_secret` column: several secrets, each with its own expiry,
 * let a client rotate its secret without downtime. Only the hash is stored.
 */
@Entity({ name: DEFAULT_CLIENT_SECRET_TABLE })
export class OAuthStoredClientSecret {
  /** Random, unique: what `client secret list` shows and `client secret revoke` takes. */
  @PrimaryColumn({ name: 'id', type: 'varchar', length: 40 })
  id!: string;

  /** Indexed: a client's secrets are looked up together. */
  @Index()
  @Column({ name: 'client_id', type: 'varchar', length: 80 })
  clientId!: string;

  /** The hash of the secret, in ClientSecretHasher's formats. */
  @Column({ name: 'secret_hash', type: 'varchar', length: 255 })
  secretHash!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: EPOCH_MILLISECONDS })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'bigint', nullable: true, transformer: EPOCH_MILLISECONDS })
  expiresAt!: Date | null;

  @Column({
    name: 'last_used_at',
    type: 'bigint',
    nullable: true,
    transformer: EPOCH_MILLISECONDS,
  })
  lastUsedAt!: Date | null;
}

/** What the `id` column holds: ASCII without spaces (it is compared byte for byte), at most 40 characters. */
const SECRET_ID_PATTERN = /^[\x21-\x7E]{1,40}$/;

/**
 * Refuses, before any write, an id a new secret row cannot have: `primary` names `client_secret`, and the
 * column takes up to 40 printable ASCII characters.
 */
export function checkNewSecretId(clientId: string, secretId: string): void {
  if (secretId === PRIMARY_SECRET_ID || !SECRET_ID_PATTERN.test(secretId)) {
    throw new Error(
      `client '${clientId}': a secret id is 1 to 40 printable ASCII characters without spaces, ` +
        `and not '${PRIMARY_SECRET_ID}' (the client_secret column's)`,
    );
  }
}

const entities = new Map<string, typeof OAuthStoredClientSecret>([
  [DEFAULT_CLIENT_SECRET_TABLE, OAuthStoredClientSecret],
]);

/**
 * The OAuthStoredClientSecret entity mapped to another table (`yii_oauth_client_secrets` for a `tablePrefix`),
 * one class per table name. The name is checked by `oauth2TableNames()`.
 */
export function oauthStoredClientSecretEntity(
  table: string = DEFAULT_CLIENT_SECRET_TABLE,
): typeof OAuthStoredClientSecret {
  let entity = entities.get(table);
  if (!entity) {
    @Entity({ name: table })
    class OAuthStoredClientSecretOfTable extends OAuthStoredClientSecret {}
    Object.defineProperty(OAuthStoredClientSecretOfTable, 'name', {
      value: `OAuthStoredClientSecret(${table})`,
    });
    entity = OAuthStoredClientSecretOfTable;
    entities.set(table, entity);
  }
  return entity;
}
