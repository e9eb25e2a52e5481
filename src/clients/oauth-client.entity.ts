import { IsOptional, IsString, Length, Matches } from 'class-validator';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { SCOPE_PATTERN } from '../http/scope.js';

/** RFC 6749 Appendix A.1: client-id = *VSCHAR (printable ASCII). */
export const CLIENT_ID_PATTERN = /^[\x20-\x7E]+$/;
/** grant_types: space-separated grant names, the same grammar as a scope list. */
const GRANT_TYPES_PATTERN = SCOPE_PATTERN;

/**
 * A registered client, column for column the `oauth_clients` table of bshaffer/oauth2-server-php and
 * yii2-oauth2-server, so an existing table can be read as it is.
 */
@Entity({ name: 'oauth_clients' })
export class OAuthClient {
  @PrimaryColumn({ name: 'client_id', type: 'varchar', length: 80 })
  @IsString()
  @Length(1, 80)
  @Matches(CLIENT_ID_PATTERN, {
    message: 'client_id must be printable ASCII (RFC 6749 Appendix A.1)',
  })
  clientId!: string;

  /**
   * A hash of the secret (never the secret itself); null for a public client. The hash formats fit the seed's
   * VARCHAR(80), so a legacy table can be upgraded in place.
   */
  @Column({ name: 'client_secret', type: 'varchar', length: 255, nullable: true })
  @IsOptional()
  @IsString()
  clientSecret!: string | null;

  /** Used by redirect-based grants; kept for schema compatibility. */
  @Column({ name: 'redirect_uri', type: 'varchar', length: 2000, nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 2000)
  redirectUri!: string | null;

  /** Space-separated grants the client may use; null allows every grant, as in the seed. */
  @Column({ name: 'grant_types', type: 'varchar', length: 80, nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 80)
  @Matches(GRANT_TYPES_PATTERN, { message: 'grant_types must be space-separated grant names' })
  grantTypes!: string | null;

  /** Space-separated scopes the client may be granted (RFC 6749 §3.3); null grants none. */
  @Column({ name: 'scope', type: 'varchar', length: 4000, nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 4000)
  @Matches(SCOPE_PATTERN, { message: 'scope must be space-separated RFC 6749 §3.3 scope tokens' })
  scope!: string | null;

  /** The user on whose behalf the client acts; becomes the token's `sub` when set. */
  @Column({ name: 'user_id', type: 'varchar', length: 80, nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 80)
  userId!: string | null;

  /** Builds a client, filling absent columns with null. */
  static create(fields: Pick<OAuthClient, 'clientId'> & Partial<OAuthClient>): OAuthClient {
    return Object.assign(new OAuthClient(), {
      clientSecret: null,
      redirectUri: null,
      grantTypes: null,
      scope: null,
      userId: null,
      ...fields,
    });
  }
}

/** The seed's table name, and the default. */
export const DEFAULT_CLIENT_TABLE = 'oauth_clients';
/** A plain SQL identifier: it goes into DDL and queries unquoted by some drivers. */
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const entities = new Map<string, typeof OAuthClient>([[DEFAULT_CLIENT_TABLE, OAuthClient]]);

/** Which table holds the clients: the module's extras, `oauth2Migrations()` and the CLI take the same. */
export interface OAuth2ClientTableOptions {
  /** Table of the clients (an existing seed table keeps its name). @default 'oauth_clients' */
  tableName?: string;
  /**
   * Prefix of the tables' names, as yii2-oauth2-server's `tablePrefix`: the clients' and the signing keys' of
   * the TypeORM key store (`<prefix>oauth_signing_keys`). @default ''
   */
  tablePrefix?: string;
}

/** The client table's full name, prefix and name, checked once for every caller. */
export function clientTableName({
  tableName = DEFAULT_CLIENT_TABLE,
  tablePrefix = '',
}: OAuth2ClientTableOptions = {}): string {
  const table = tablePrefix + tableName;
  if (tableName === '' || !TABLE_NAME.test(table)) {
    throw new Error(
      `${JSON.stringify(table)} is not a valid table name: use letters, digits and _, ` +
        'at most 63 characters, not starting with a digit',
    );
  }
  return table;
}

/**
 * The OAuthClient entity mapped to another table (a legacy `yii_oauth_clients`, say): a subclass with the same
 * columns, one per table name, so `entities: [oauthClientEntity('x')]` and the module agree on the class.
 */
export function oauthClientEntity(table: string = DEFAULT_CLIENT_TABLE): typeof OAuthClient {
  clientTableName({ tableName: table });
  let entity = entities.get(table);
  if (!entity) {
    @Entity({ name: table })
    class OAuthClientOfTable extends OAuthClient {}
    Object.defineProperty(OAuthClientOfTable, 'name', { value: `OAuthClient(${table})` });
    entity = OAuthClientOfTable;
    entities.set(table, entity);
  }
  return entity;
}
