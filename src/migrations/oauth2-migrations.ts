import {
  clientTableName,
  oauthClientEntity,
  type OAuth2ClientTableOptions,
  type OAuthClient,
} from '../clients/oauth-client.entity.js';
import {
  DEFAULT_CLIENT_SECRET_TABLE,
  oauthStoredClientSecretEntity,
  type OAuthStoredClientSecret,
} from '../clients/oauth-client-secret.entity.js';
import { DEFAULT_KEY_TABLE, oauthStoredKeyEntity } from '../keys/oauth-stored-key.entity.js';
import type { OAuthStoredKey } from '../keys/oauth-stored-key.entity.js';
import { clientIdBinaryCollationMigration } from './client-id-binary-collation.migration.js';
import {
  clientLifecycleColumnsMigration,
  createClientSecretTableMigration,
} from './client-lifecycle.migration.js';
import {
  createClientTableMigration,
  type OAuth2MigrationClass,
} from './create-client-table.migration.js';
import { createSigningKeyTableMigration } from './create-signing-key-table.migration.js';

/** Which tables `oauth2Migrations()` manages: the same extras as the module's. */
export type OAuth2MigrationsOptions = OAuth2ClientTableOptions;

/**
 * The tables of the module: the clients (`tablePrefix` + `tableName`), the signing keys and the clients'
 * further secrets (prefixed too).
 */
export interface OAuth2TableNames {
  clients: string;
  signingKeys: string;
  clientSecrets: string;
}

/** The full names of the module's tables, each checked: the module, the migrations and the CLI agree. */
export function oauth2TableNames(tables: OAuth2MigrationsOptions = {}): OAuth2TableNames {
  return {
    clients: clientTableName(tables),
    signingKeys: clientTableName({ tableName: DEFAULT_KEY_TABLE, tablePrefix: tables.tablePrefix }),
    clientSecrets: clientTableName({
      tableName: DEFAULT_CLIENT_SECRET_TABLE,
      tablePrefix: tables.tablePrefix,
    }),
  };
}

/**
 * The module's entities for these tables, for the `entities` of the DataSource: the clients, the signing keys
 * of the TypeORM key store and the clients' further secrets. Give the same `tableName`/`tablePrefix` as to
 * `OAuth2Module`.
 */
export function oauth2Entities(
  tables: OAuth2MigrationsOptions = {},
): [typeof OAuthClient, typeof OAuthStoredKey, typeof OAuthStoredClientSecret] {
  const names = oauth2TableNames(tables);
  return [
    oauthClientEntity(names.clients),
    oauthStoredKeyEntity(names.signingKeys),
    oauthStoredClientSecretEntity(names.clientSecrets),
  ];
}

const byTable = new Map<string, readonly OAuth2MigrationClass[]>();

/** The same classes for the same table, however its name was spelled. */
function migrationsOf(
  kind: keyof OAuth2TableNames,
  table: string,
  create: (table: string) => readonly OAuth2MigrationClass[],
): readonly OAuth2MigrationClass[] {
  const key = `${kind}:${table}`;
  let migrations = byTable.get(key);
  if (!migrations) {
    migrations = create(table);
    byTable.set(key, migrations);
  }
  return migrations;
}

/**
 * The module's TypeORM migrations, oldest first, for the `migrations` option of a DataSource (next to the
 * app's own) or `nest-oauth2 migrate`: the client table, the signing key table, then the client lifecycle
 * (new client columns, the table of further secrets). Give the same
 * `tableName`/`tablePrefix` as to `OAuth2Module`. Each call for one table returns the same classes, so
 * listing them twice cannot make TypeORM see two migrations.
 *
 * ```ts
 * TypeOrmModule.forRoot({ ..., migrations: [...oauth2Migrations(), ...ownMigrations], migrationsRun: true })
 * ```
 */
export function oauth2Migrations(tables: OAuth2MigrationsOptions = {}): OAuth2MigrationClass[] {
  const names = oauth2TableNames(tables);
  return [
    ...migrationsOf('clients', names.clients, (table) => [
      createClientTableMigration(table),
      clientIdBinaryCollationMigration(table),
    ]),
    ...migrationsOf('signingKeys', names.signingKeys, (table) => [
      createSigningKeyTableMigration(table),
    ]),
    ...migrationsOf('clients', `${names.clients}:lifecycle`, () => [
      clientLifecycleColumnsMigration(names.clients),
    ]),
    ...migrationsOf('clientSecrets', names.clientSecrets, (table) => [
      createClientSecretTableMigration(table),
    ]),
  ];
}
