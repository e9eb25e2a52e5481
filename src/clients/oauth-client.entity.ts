import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  NotEquals,
} from 'class-validator';
import { Column, Entity, PrimaryColumn } from '../storage/optional-typeorm.js';
import { SCOPE_PATTERN } from '../http/scope.js';
import { BOOLEAN, EPOCH_MILLISECONDS } from '../storage/columns.js';

/** RFC 6749 Appendix A.1: client-id = *VSCHAR (printable ASCII). */
export const CLIENT_ID_PATTERN = /^[\x20-\x7E]+$/;
/** grant_types: space-separated grant names, the same grammar as a scope list. */
const GRANT_TYPES_PATTERN = SCOPE_PATTERN;
/** audience: space-separated absolute URIs (RFC 8707 §2), each without a fragment. */
const AUDIENCE_PATTERN = /^[\x21-\x7E]+( [\x21-\x7E]+)*$/;

/** The client authentication methods a client record can name (RFC 7591 §2 `token_endpoint_auth_method`). */
export const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
] as const;
export type OAuthClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

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

  /**
   * The user on whose behalf the client acts; becomes the token's `sub` when set. Never empty, and never
   * another client's id: a resource server that trusts `sub` would take one client for the other.
   */
  @Column({ name: 'user_id', type: 'varchar', length: 80, nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 80)
  userId!: string | null;

  /**
   * When `client_secret` stops being accepted (RFC 7591 §3.2.1 `client_secret_expires_at`); null: never. The
   * other secrets of the client, in `oauth_client_secrets`, carry their own.
   */
  @Column({
    name: 'client_secret_expires_at',
    type: 'bigint',
    nullable: true,
    transformer: EPOCH_MILLISECONDS,
  })
  clientSecretExpiresAt!: Date | null;

  /** When `client_secret` last authenticated the client, written at most every few minutes. */
  @Column({
    name: 'client_secret_last_used_at',
    type: 'bigint',
    nullable: true,
    transformer: EPOCH_MILLISECONDS,
  })
  clientSecretLastUsedAt!: Date | null;

  /**
   * How the client authenticates (RFC 7591 §2); another method is refused with 401 invalid_client. Null:
   * either secret method, or `none` for a client without a secret, as the seed's clients do.
   */
  @Column({ name: 'token_endpoint_auth_method', type: 'varchar', length: 40, nullable: true })
  @IsOptional()
  @IsIn(CLIENT_AUTH_METHODS)
  tokenEndpointAuthMethod!: OAuthClientAuthMethod | null;

  /** The client's public keys for `private_key_jwt`, a JWK Set (RFC 7517 §5) as JSON; or `jwksUri`. */
  @Column({ name: 'jwks', type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 65536)
  jwks!: string | null;

  /** Where the client publishes its JWK Set for `private_key_jwt` (RFC 7591 §2 `jwks_uri`). */
  @Column({ name: 'jwks_uri', type: 'varchar', length: 2000, nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 2000)
  jwksUri!: string | null;

  /** Access token lifetime in seconds; null: the module's. Bounded by `maxAccessTokenLifetime`. */
  @Column({ name: 'access_token_lifetime', type: 'integer', nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(2 ** 31 - 1)
  accessTokenLifetime!: number | null;

  /**
   * The audiences the client may ask for with RFC 8707 `resource`: absolute URIs, space-separated; the first
   * is its tokens' `aud` when it asks for none. Null: the module's `audience`.
   */
  @Column({ name: 'audience', type: 'varchar', length: 4000, nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 4000)
  @Matches(AUDIENCE_PATTERN, { message: 'audience must be space-separated absolute URIs' })
  audience!: string | null;

  /** A disabled client fails authentication (401 invalid_client) until enabled again. */
  @Column({ name: 'disabled', type: 'boolean', default: false, transformer: BOOLEAN })
  @IsBoolean()
  @NotEquals(null)
  disabled!: boolean;

  /** Builds a client, filling absent columns with their defaults (null; `disabled` false). */
  static create(fields: Pick<OAuthClient, 'clientId'> & Partial<OAuthClient>): OAuthClient {
    return Object.assign(new OAuthClient(), {
      clientSecret: null,
      redirectUri: null,
      grantTypes: null,
      scope: null,
      userId: null,
      clientSecretExpiresAt: null,
      clientSecretLastUsedAt: null,
      tokenEndpointAuthMethod: null,
      jwks: null,
      jwksUri: null,
      accessTokenLifetime: null,
      audience: null,
      disabled: false,
      ...fields,
    });
  }
}

/** The id `secret list` gives the seed column's secret, `client_secret`. */
export const PRIMARY_SECRET_ID = 'primary';

/**
 * One secret of a client: the seed's `client_secret` column (id `primary`) or a row of `oauth_client_secrets`.
 * Only the hash is stored.
 */
export interface OAuthClientSecret {
  /** `primary`, or the row's id. */
  id: string;
  /** The stored hash (ClientSecretHasher's formats). */
  hash: string;
  /** When it was added; null for `primary`, whose table has no such column. */
  createdAt: Date | null;
  /** When it stops being accepted; null: never. */
  expiresAt: Date | null;
  /** When it last authenticated the client; null: not yet. */
  lastUsedAt: Date | null;
}

/**
 * Every secret of a client: the seed column's (`primary`) when set, then `others` (from `findSecrets()`),
 * expired ones included.
 */
export function secretsOf(
  client: OAuthClient,
  others: readonly OAuthClientSecret[],
): OAuthClientSecret[] {
  const primary: OAuthClientSecret[] =
    client.clientSecret === null
      ? []
      : [
          {
            id: PRIMARY_SECRET_ID,
            hash: client.clientSecret,
            createdAt: null,
            expiresAt: client.clientSecretExpiresAt,
            lastUsedAt: client.clientSecretLastUsedAt,
          },
        ];
  return [...primary, ...others];
}

/**
 * What a custom-claims hook sees of a client: every setting, no secret material (no hash, no secret list;
 * its public keys are not needed to build claims either).
 */
export type OAuthClientView = Readonly<
  Omit<OAuthClient, 'clientSecret' | 'clientSecretExpiresAt' | 'clientSecretLastUsedAt' | 'jwks'>
>;

/** The view of a client a custom-claims hook gets. */
export function clientView(client: OAuthClient): OAuthClientView {
  const {
    clientSecret: _secret,
    clientSecretExpiresAt: _expiresAt,
    clientSecretLastUsedAt: _lastUsedAt,
    jwks: _jwks,
    ...view
  } = client;
  return Object.freeze(view);
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
