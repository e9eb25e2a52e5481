import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
// An ES module, loaded by this CommonJS app through Node's require(esm) (Node 20.19+).
import { OAuth2Module, oauth2Entities } from '@nest-oauth2/server';
import { readFileSync } from 'fs';
import { ReportsController } from './reports.controller';

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'better-sqlite3',
      database: 'data/oauth2.sqlite',
      entities: [...oauth2Entities()],
    }),
    OAuth2Module.forRoot({
      issuer: process.env.OAUTH2_ISSUER ?? 'http://localhost:3000',
      signing: { algorithm: 'RS256', privateKey: readFileSync('signing-key.pem', 'utf8') },
    }),
  ],
  controllers: [ReportsController],
})
export class AppModule {}
