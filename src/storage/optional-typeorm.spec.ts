import { describe, expect, test } from '@jest/globals';
import * as nestTypeOrmPackage from '@nestjs/typeorm';
import * as typeOrmPackage from 'typeorm';
import { OAuthClient } from '../clients/oauth-client.entity.js';
import {
  nestTypeOrm,
  OAuth2TypeOrmMissingError,
  typeOrm,
  typeOrmIfInstalled,
  TYPEORM_ADVICE,
} from './optional-typeorm.js';

// Without the packages: test/optional-typeorm.e2e-spec.ts, on the built package in a folder that lacks them.
describe('with typeorm and @nestjs/typeorm installed', () => {
  test('typeorm is the copy the app imports, so entities and errors are one', () => {
    expect(typeOrmIfInstalled()?.DataSource).toBe(typeOrmPackage.DataSource);
    expect(typeOrm('a test').QueryFailedError).toBe(typeOrmPackage.QueryFailedError);
  });

  test("the entities carry TypeORM's metadata, as users list them in `entities`", () => {
    const table = typeOrmPackage
      .getMetadataArgsStorage()
      .tables.find((args) => args.target === OAuthClient);
    expect(table).toMatchObject({ name: 'oauth_clients', type: 'regular' });
    const columns = typeOrmPackage
      .getMetadataArgsStorage()
      .columns.filter((args) => args.target === OAuthClient)
      .map((args) => args.options.name);
    expect(columns).toEqual(expect.arrayContaining(['client_id', 'client_secret', 'disabled']));
  });

  test('@nestjs/typeorm is imported on demand', async () => {
    expect((await nestTypeOrm('a test')).TypeOrmModule).toBe(nestTypeOrmPackage.TypeOrmModule);
  });
});

test('the missing-package error names what needed it, the package, and both ways out', () => {
  const error = new OAuth2TypeOrmMissingError('oauth2Migrations()', 'typeorm');
  expect(error.name).toBe('OAuth2TypeOrmMissingError');
  expect(error.message).toBe(
    `oauth2Migrations() needs the package typeorm, which is not installed: ${TYPEORM_ADVICE}`,
  );
  expect(TYPEORM_ADVICE).toMatch(/^install typeorm and @nestjs\/typeorm .*`clientRepository`/);
});
