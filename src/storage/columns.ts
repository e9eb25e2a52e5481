import type { ValueTransformer } from 'typeorm';

/**
 * A moment as milliseconds since the Unix epoch in a BIGINT: read back identically on SQLite, PostgreSQL
 * and MariaDB/MySQL. Their date-time types differ in precision and time zone handling (PostgreSQL's
 * `timestamp` and mysql2 read a zone-less value in the process's local time).
 */
export const EPOCH_MILLISECONDS: ValueTransformer = {
  to: (value: unknown) => (value instanceof Date ? value.getTime() : value),
  // pg and mysql2 return a BIGINT as a string, better-sqlite3 as a number.
  from: (value: string | number | null) => (value === null ? null : new Date(Number(value))),
};

/** A boolean read back alike from PostgreSQL's boolean, MariaDB's TINYINT and SQLite's INTEGER. */
export const BOOLEAN: ValueTransformer = {
  to: (value: unknown) => value,
  from: (value: boolean | number | string | null) => value === true || Number(value) === 1,
};
