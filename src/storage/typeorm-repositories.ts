import { Module, type DynamicModule } from '@nestjs/common';
import type { ObjectLiteral, Repository } from 'typeorm';
import { nestTypeOrm } from './optional-typeorm.js';

/** The repositories of the module's TypeORM storage, under one token OAuth2Module's providers inject. */
export const OAUTH2_TYPEORM_REPOSITORIES = Symbol('OAUTH2:TYPEORM_REPOSITORIES');

/** The tables the TypeORM storage in use reads: the clients and their secrets, and/or the signing keys. */
export interface OAuth2TypeOrmEntities {
  clients?: new () => ObjectLiteral;
  clientSecrets?: new () => ObjectLiteral;
  signingKeys?: new () => ObjectLiteral;
}

export type OAuth2TypeOrmRepositories = {
  [Table in keyof OAuth2TypeOrmEntities]?: Repository<ObjectLiteral>;
};

@Module({})
class OAuth2TypeOrmRepositoriesModule {}

/**
 * The entities' repositories (`TypeOrmModule.forFeature`, so `autoLoadEntities` still sees them) on the
 * DataSource named `dataSource`, gathered under OAUTH2_TYPEORM_REPOSITORIES. Nest awaits a module given as a
 * promise while it scans the app: @nestjs/typeorm is imported only here, only for an app whose module keeps
 * something in TypeORM, and its absence fails start-up with what to install.
 */
export function typeOrmRepositoriesModule(
  entities: OAuth2TypeOrmEntities,
  dataSource: string | undefined,
): Promise<DynamicModule> {
  const module = build(entities, dataSource);
  // Nest awaits it only later, while scanning: until then a rejection is not "unhandled".
  module.catch(() => undefined);
  return module;
}

async function build(
  entities: OAuth2TypeOrmEntities,
  dataSource: string | undefined,
): Promise<DynamicModule> {
  const { TypeOrmModule, getRepositoryToken } = await nestTypeOrm('the TypeORM storage');
  const tables = Object.entries(entities).filter(([, entity]) => entity !== undefined);
  return {
    module: OAuth2TypeOrmRepositoriesModule,
    imports: [
      TypeOrmModule.forFeature(
        tables.map(([, entity]) => entity!),
        dataSource,
      ),
    ],
    providers: [
      {
        provide: OAUTH2_TYPEORM_REPOSITORIES,
        useFactory: (...repositories: Repository<ObjectLiteral>[]): OAuth2TypeOrmRepositories =>
          Object.fromEntries(tables.map(([table], i) => [table, repositories[i]])),
        inject: tables.map(([, entity]) => getRepositoryToken(entity!, dataSource)),
      },
    ],
    exports: [OAUTH2_TYPEORM_REPOSITORIES],
  };
}
