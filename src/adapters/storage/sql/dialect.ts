/**
 * What differs between SQLite, PostgreSQL and MySQL/MariaDB: detection from the host's Kysely
 * instance, column types, and which driver errors are worth retrying.
 */
import { type Kysely, MysqlAdapter, PostgresAdapter, SqliteAdapter } from 'kysely';

export type SqlDialectName = 'sqlite' | 'postgres' | 'mysql';

/** Finds the SQL flavour from the Kysely instance's adapter; never from a URL. */
export function detectDialect<DB>(db: Kysely<DB>): SqlDialectName {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof SqliteAdapter) return 'sqlite';
  if (adapter instanceof PostgresAdapter) return 'postgres';
  if (adapter instanceof MysqlAdapter) return 'mysql';
  // A second copy of kysely in node_modules breaks `instanceof`; the class names still match.
  const className = adapter.constructor.name;
  if (className === 'SqliteAdapter') return 'sqlite';
  if (className === 'PostgresAdapter') return 'postgres';
  if (className === 'MysqlAdapter') return 'mysql';
  throw new TypeError(
    `createSqlStorage cannot tell the SQL dialect of a Kysely instance using ${className}; pass { dialect: 'sqlite' | 'postgres' | 'mysql' }.`,
  );
}

/** Column types per dialect. Times are epoch milliseconds in a bigint everywhere. */
export interface DialectTypes {
  /** Surrogate primary key, as the seed's `ID uint` `primaryKey`. */
  readonly id: string;
  readonly bigint: string;
  /** JSON documents and error texts; MySQL's `text` stops at 64 KB, so it gets `mediumtext` (16 MB). */
  readonly longText: string;
  /** Appended after `CREATE TABLE (...)`. */
  readonly tableOptions: string;
}

export function dialectTypes(dialect: SqlDialectName, mysqlCollation = 'utf8mb4_bin'): DialectTypes {
  switch (dialect) {
    case 'sqlite':
      // INTEGER PRIMARY KEY is the rowid: no extra index, no AUTOINCREMENT bookkeeping.
      return { id: 'integer PRIMARY KEY', bigint: 'integer', longText: 'text', tableOptions: '' };
    case 'postgres':
      return { id: 'bigserial PRIMARY KEY', bigint: 'bigint', longText: 'text', tableOptions: '' };
    case 'mysql':
      // A binary, no-pad collation keeps ids exact: the default collations treat 'A' = 'a',
      // 'é' = 'e' + U+0301 and 'a' = 'a ' as equal, which would merge different tasks.
      return {
        id: 'bigint NOT NULL AUTO_INCREMENT PRIMARY KEY',
        bigint: 'bigint',
        longText: 'mediumtext',
        tableOptions: ` ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=${mysqlCollation}`,
      };
  }
}

/** Bytes a JSON column holds; `undefined` when the limit is far beyond any sane payload. */
export function jsonColumnBytes(dialect: SqlDialectName): number | undefined {
  return dialect === 'mysql' ? 16_777_215 : undefined;
}

const errorField = (error: unknown, field: string): unknown =>
  typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[field] : undefined;

/**
 * True for errors that a second attempt of the same transaction normally clears: deadlocks,
 * serialisation failures, lock wait timeouts and SQLite's busy database.
 */
export function isTransientError(dialect: SqlDialectName, error: unknown): boolean {
  switch (dialect) {
    case 'postgres':
      return errorField(error, 'code') === '40P01' || errorField(error, 'code') === '40001';
    case 'mysql':
      return errorField(error, 'errno') === 1213 || errorField(error, 'errno') === 1205;
    case 'sqlite':
      return String(errorField(error, 'code')).startsWith('SQLITE_BUSY');
  }
}

/** True when MySQL refused DDL because the index or table is already there. */
export function isAlreadyExistsError(dialect: SqlDialectName, error: unknown): boolean {
  if (dialect === 'mysql') return errorField(error, 'errno') === 1061 || errorField(error, 'errno') === 1050;
  if (dialect === 'postgres')
    return errorField(error, 'code') === '42P07' || errorField(error, 'code') === '23505';
  return false;
}
