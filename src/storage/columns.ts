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

/**
 * A boolean read back alike from PostgreSQL's boolean, MariaDB's TINYINT and SQLite's INTEGER, and from what a
 * column added by hand may hold: as SQL reads a truth value, every number but 0 is true (MariaDB's `TRUE` is
 * any non-zero TINYINT), a BIT(1) arrives as bytes, a string as its text. Null is false: the column's default.
 */
export const BOOLEAN: ValueTransformer = {
  to: (value: unknown) => value,
  from: (value: unknown): boolean => {
    if (value === null || value === undefined) return false;
    if (typeof value === 'boolean') return value;
    if (value instanceof Uint8Array) return value.some((byte) => byte !== 0);
    if (typeof value === 'string' && !/^\s*[+-]?\d+(\.\d*)?\s*$/.test(value)) {
      return !/^\s*(false|f|no|n|off|)\s*$/i.test(value);
    }
    return Number(value) !== 0;
  },
};
