import { describe, expect, test } from '@jest/globals';
import { oauth2Migrations } from './oauth2-migrations.js';

describe('oauth2Migrations()', () => {
  test('one migration per table, named after it, ending in the 13-digit timestamp TypeORM sorts by', () => {
    const [migration, ...rest] = oauth2Migrations();
    expect(rest).toEqual([]);
    expect(migration.name).toBe('OAuth2CreateClientTable_oauth_clients_1795564800000');
    expect(new migration().name).toBe('OAuth2CreateClientTable_oauth_clients_1795564800000');
    expect(new (oauth2Migrations({ tableName: 'clients', tablePrefix: 'yii_' })[0])().name).toBe(
      'OAuth2CreateClientTable_yii_clients_1795564800000',
    );
  });

  test('the same classes for the same table, however it is spelled', () => {
    const [first] = oauth2Migrations();
    expect(oauth2Migrations({})[0]).toBe(first);
    expect(oauth2Migrations({ tableName: 'oauth_clients' })[0]).toBe(first);
    expect(oauth2Migrations({ tableName: 'clients', tablePrefix: 'oauth_' })[0]).toBe(first);
    expect(oauth2Migrations({ tablePrefix: 'yii_' })[0]).not.toBe(first);
  });

  test("a caller's changes to the returned list do not leak into the next call", () => {
    const list = oauth2Migrations();
    list.length = 0;
    expect(oauth2Migrations()).toHaveLength(1);
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
