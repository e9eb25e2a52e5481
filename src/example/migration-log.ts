import { Logger } from '@nestjs/common';
import type { Logger as TypeOrmLogger } from 'typeorm';

/** TypeORM's words for a migration it ran: `Migration <name> has been executed successfully.` */
const EXECUTED = /^Migration (\S+) has been executed successfully\.$/;

/**
 * The example app's TypeORM logger: it logs each migration applied at start-up through Nest's logger, and
 * remembers them, so the app knows whether this start created its database. Queries are not logged.
 */
export class MigrationLog implements TypeOrmLogger {
  private readonly logger = new Logger('ExampleMigrations');
  private readonly executed: string[] = [];

  /** Whether this start ran the migration creating `table` (a new table, or an existing one adopted). */
  created(table: string): boolean {
    return this.executed.some((name) => name.startsWith(`OAuth2CreateClientTable_${table}_`));
  }

  /** TypeORM reports an executed migration as a schema-build message. */
  logSchemaBuild(message: string): void {
    const name = EXECUTED.exec(message)?.[1];
    if (name === undefined) return;
    this.executed.push(name);
    this.logger.log(`Applied ${name}`, { event: 'example.migration.applied', migration: name });
  }

  /** A failed migration: the start fails with TypeORM's error, which says more; say which here. */
  logMigration(message: string): void {
    if (message.includes('failed')) {
      this.logger.error(message.replace(/, error: .*$/s, ''), {
        event: 'example.migration.failed',
      });
    }
  }

  logQuery(): void {}
  logQueryError(): void {}
  logQuerySlow(): void {}
  log(): void {}
}
