import { describe, expect, test } from '@jest/globals';
import { OAuthClient } from '../clients/oauth-client.entity.js';
import { OAuthStoredClientSecret } from '../clients/oauth-client-secret.entity.js';
import { OAuthStoredKey } from '../keys/oauth-stored-key.entity.js';
import { oauth2Entities, oauth2Migrations, oauth2TableNames } from './oauth2-migrations.js';

describe('oauth2Migrations()', () => {
  test('per table, in order: create the client table, make client_id compare exactly, create the key table, add the lifecycle columns, create the secret table; each named after its table', () => {
    const names = (migrations: ReturnType<typeof oauth2Migrations>) =>
      migrations.map((migration) => [migration.name, new migration().name]);
    expect(names(oauth2Migrations())).toEqual([
      [
        'OAuth2CreateClientTable_oauth_clients_1795564800000',
        'OAuth2CreateClientTable_oauth_clients_1795564800000',
      ],
      [
        'OAuth2ClientIdBinaryCollation_oauth_clients_1795996800000',
        'OAuth2ClientIdBinaryCollation_oauth_clients_1795996800000',
      ],
      [
        'OAuth2CreateSigningKeyTable_oauth_signing_keys_1796601600000',
        'OAuth2CreateSigningKeyTable_oauth_signing_keys_1796601600000',
      ],
      [
        'OAuth2ClientLifecycleColumns_oauth_clients_1798502400000',
        'OAuth2ClientLifecycleColumns_oauth_clients_1798502400000',
      ],
      [
        'OAuth2CreateClientSecretTable_oauth_client_secrets_1798588800000',
        'OAuth2CreateClientSecretTable_oauth_client_secrets_1798588800000',
      ],
    ]);
    expect(
      oauth2Migrations({ tableName: 'clients', tablePrefix: 'yii_' }).map((m) => new m().name),
    ).toEqual([
      'OAuth2CreateClientTable_yii_clients_1795564800000',
      'OAuth2ClientIdBinaryCollation_yii_clients_1795996800000',
      'OAuth2CreateSigningKeyTable_yii_oauth_signing_keys_1796601600000',
      'OAuth2ClientLifecycleColumns_yii_clients_1798502400000',
      'OAuth2CreateClientSecretTable_yii_oauth_client_secrets_1798588800000',
    ]);
  });

  test('TypeORM runs them in the order listed: it sorts by the 13-digit timestamp ending each name', () => {
    const timestamps = oauth2Migrations().map((m) => Number(/(\d{13})$/.exec(m.name)?.[1]));
    expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
    expect(new Set(timestamps).size).toBe(timestamps.length);
  });

  test('the same classes for the same table, however it is spelled', () => {
    const first = oauth2Migrations();
    const sameClasses = (list: typeof first) =>
      list.every((migration, i) => migration === first[i]);
    expect(sameClasses(oauth2Migrations({}))).toBe(true);
    expect(sameClasses(oauth2Migrations({ tableName: 'oauth_clients' }))).toBe(true);
    // The same client table; the prefix also names the key and secret tables, other ones.
    const prefixed = oauth2Migrations({ tableName: 'clients', tablePrefix: 'oauth_' });
    expect(sameClasses(prefixed.slice(0, 2))).toBe(true);
    expect(prefixed[3]).toBe(first[3]);
    expect(prefixed[2].name).toBe(
      'OAuth2CreateSigningKeyTable_oauth_oauth_signing_keys_1796601600000',
    );
    expect(oauth2Migrations({ tablePrefix: 'yii_' }).some((m) => first.includes(m))).toBe(false);
  });

  test('oauth2TableNames and oauth2Entities: the prefix goes before every table', () => {
    expect(oauth2TableNames()).toEqual({
      clients: 'oauth_clients',
      signingKeys: 'oauth_signing_keys',
      clientSecrets: 'oauth_client_secrets',
    });
    expect(oauth2TableNames({ tableName: 'clients', tablePrefix: 'yii_' })).toEqual({
      clients: 'yii_clients',
      signingKeys: 'yii_oauth_signing_keys',
      clientSecrets: 'yii_oauth_client_secrets',
    });
    expect(oauth2Entities()).toEqual([OAuthClient, OAuthStoredKey, OAuthStoredClientSecret]);
    const [clients, keys, secrets] = oauth2Entities({ tablePrefix: 'yii_' });
    expect([clients.name, keys.name, secrets.name]).toEqual([
      'OAuthClient(yii_oauth_clients)',
      'OAuthStoredKey(yii_oauth_signing_keys)',
      'OAuthStoredClientSecret(yii_oauth_client_secrets)',
    ]);
    expect(oauth2Entities({ tablePrefix: 'yii_' })[1]).toBe(keys);
  });

  test("a caller's changes to the returned list do not leak into the next call", () => {
    const list = oauth2Migrations();
    list.length = 0;
    expect(oauth2Migrations()).toHaveLength(5);
  });

  test.each([['bad-name'], ['1clients'], ['x'.repeat(64)], ['a b'], ['"quoted"']])(
    'table name %j is refused',
    (tableName) => {
      expect(() => oauth2Migrations({ tableName })).toThrow(
        `${JSON.stringify(tableName)} is not a valid table name`,
      );
    },
  );
});
