import { Column, Entity, PrimaryColumn } from '../storage/optional-typeorm.js';
import { EPOCH_MILLISECONDS } from '../storage/columns.js';
import type { OAuth2StoredKeyAlgorithm } from './key-lifecycle.js';
import type { OAuth2KeyState } from './signing-options.interface.js';

/** The default name of the key table; the module's `tablePrefix` goes before it. */
export const DEFAULT_KEY_TABLE = 'oauth_signing_keys';

/**
 * A signing key of the TypeORM key store, as stored: the private key only sealed (AES-256-GCM under the key
 * encryption key), the public key as a JWK.
 */
@Entity({ name: DEFAULT_KEY_TABLE })
export class OAuthStoredKey {
  /** The RFC 7638 thumbprint of the public key: the `kid` of the tokens it signs. */
  @PrimaryColumn({ name: 'kid', type: 'varchar', length: 64 })
  kid!: string;

  @Column({ name: 'alg', type: 'varchar', length: 16 })
  algorithm!: OAuth2StoredKeyAlgorithm;

  @Column({ name: 'state', type: 'varchar', length: 16 })
  state!: OAuth2KeyState;

  /** `$aes-256-gcm$v=1,k=<kek id>$…`: the PKCS#8 private key, sealed with the kid as AAD. */
  @Column({ name: 'sealed_private_key', type: 'text' })
  sealedPrivateKey!: string;

  /** The public key as a JWK (JSON), checked against the private key when loaded. */
  @Column({ name: 'public_jwk', type: 'text' })
  publicJwk!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: EPOCH_MILLISECONDS })
  createdAt!: Date;

  @Column({
    name: 'activated_at',
    type: 'bigint',
    nullable: true,
    transformer: EPOCH_MILLISECONDS,
  })
  activatedAt!: Date | null;

  @Column({ name: 'retired_at', type: 'bigint', nullable: true, transformer: EPOCH_MILLISECONDS })
  retiredAt!: Date | null;
}

const entities = new Map<string, typeof OAuthStoredKey>([[DEFAULT_KEY_TABLE, OAuthStoredKey]]);

/**
 * The OAuthStoredKey entity mapped to another table (`yii_oauth_signing_keys` for a `tablePrefix`), one class
 * per table name, so `entities: [oauthStoredKeyEntity(x)]` and the module agree on the class. The name is
 * checked by `oauth2TableNames()`.
 */
export function oauthStoredKeyEntity(table: string = DEFAULT_KEY_TABLE): typeof OAuthStoredKey {
  let entity = entities.get(table);
  if (!entity) {
    @Entity({ name: table })
    class OAuthStoredKeyOfTable extends OAuthStoredKey {}
    Object.defineProperty(OAuthStoredKeyOfTable, 'name', { value: `OAuthStoredKey(${table})` });
    entity = OAuthStoredKeyOfTable;
    entities.set(table, entity);
  }
  return entity;
}
