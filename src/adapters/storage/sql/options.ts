/**
 * Options of `createSqlStorage`, their defaults, and the one place they are resolved.
 */
import type { Kysely } from 'kysely';
import { DEFAULT_RETENTION, type RetentionOptions } from '../types.js';
import type { SqlDialectName } from './dialect.js';

/** Group commit: how `appendEvents` calls are gathered into one transaction. */
export interface SqlBatchOptions {
  /**
   * Most events written in one transaction. A single `appendEvents` call larger than this is
   * still written whole, in one transaction of its own. `1` gives one transaction per call.
   * @default 500
   */
  maxEvents?: number;
  /**
   * How long the first queued event waits for company before its batch is written, when no
   * batch is in flight. While a batch commits, new calls queue up and are written as soon as
   * it finishes, so under load batches fill without waiting. `0` writes on the next tick.
   * @default 2
   */
  maxDelayMs?: number;
}

/**
 * What the adapter uses of a better-sqlite3 `Database` (any version): a structural type, so
 * that this package's types do not depend on better-sqlite3's.
 */
export interface SqliteDatabaseHandle {
  prepare(source: string): {
    run(...params: unknown[]): unknown;
    get(...params: unknown[]): unknown;
  };
  readonly inTransaction: boolean;
}

export interface SqlStorageOptions {
  /**
   * The host's Kysely instance (SQLite via better-sqlite3, PostgreSQL via pg, MySQL/MariaDB
   * via mysql2). The adapter runs its queries on it without the host's plugins (a
   * `CamelCasePlugin` would rename our columns) and never destroys it.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the host's table types are none of our business.
  db: Kysely<any>;
  /**
   * Prefix of the four table names (`${tablePrefix}progress_history`, `...tasks`,
   * `...websocket_sessions`, `...resume_sessions`) and their index names. Letters, digits and
   * `_`, at most 30 characters, so every index name fits PostgreSQL's 63-character limit.
   * @default 'rp_'
   */
  tablePrefix?: string;
  /**
   * Create the tables (if missing) before the first query. Turn it off when your own migration
   * tool runs `migrateSqlStorage` (or the DDL in `docs/storage-adapters.md`) at deploy time.
   * @default true
   */
  migrate?: boolean;
  /** Group commit of `appendEvents`; see {@link SqlBatchOptions}. */
  batch?: SqlBatchOptions;
  /**
   * History retention; see {@link RetentionOptions} for defaults. `maxEventsPerTask` is applied
   * in the same transaction as each append; `ttlMs` by `cleanup()`.
   */
  retention?: RetentionOptions;
  /**
   * The database flavour. Detected from the Kysely adapter (`SqliteAdapter`, `PostgresAdapter`,
   * `MysqlAdapter`); set it only for a custom dialect that reuses one of those SQL flavours.
   * @default detected
   */
  dialect?: SqlDialectName;
  /**
   * SQLite only, optional: the better-sqlite3 `Database` behind `db` (the object given to
   * `SqliteDialect`). Appends then run statements prepared once instead of statements Kysely's
   * driver prepares anew every time: about a third less CPU per appended event (see
   * `docs/storage-adapters.md`). Everything else still goes through `db`.
   * @default undefined
   */
  sqliteDatabase?: SqliteDatabaseHandle | undefined;
}

export interface ResolvedSqlOptions {
  readonly tablePrefix: string;
  readonly migrate: boolean;
  readonly batch: Required<SqlBatchOptions>;
  readonly retention: Required<RetentionOptions>;
}

export const DEFAULT_SQL_OPTIONS = {
  tablePrefix: 'rp_',
  migrate: true,
  batch: { maxEvents: 500, maxDelayMs: 2 },
  retention: DEFAULT_RETENTION,
} as const satisfies ResolvedSqlOptions;

const PREFIX_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,29}$/;

/** Fills defaults and rejects values that cannot work, naming the fix. */
export function resolveSqlOptions(options: SqlStorageOptions): ResolvedSqlOptions {
  const tablePrefix = options.tablePrefix ?? DEFAULT_SQL_OPTIONS.tablePrefix;
  // The prefix is spliced into DDL and index names, so it is held to a safe identifier shape.
  if (tablePrefix !== '' && !PREFIX_PATTERN.test(tablePrefix)) {
    throw new TypeError(
      `tablePrefix ${JSON.stringify(tablePrefix)} is not allowed; use up to 30 letters, digits or "_", not starting with a digit.`,
    );
  }
  const batch = { ...DEFAULT_SQL_OPTIONS.batch, ...options.batch };
  const retention = { ...DEFAULT_SQL_OPTIONS.retention, ...options.retention };
  requireInteger('batch.maxEvents', batch.maxEvents, 1);
  requireInteger('batch.maxDelayMs', batch.maxDelayMs, 0);
  requireInteger('retention.maxEventsPerTask', retention.maxEventsPerTask, 1);
  requireInteger('retention.ttlMs', retention.ttlMs, 0);
  return { tablePrefix, migrate: options.migrate ?? DEFAULT_SQL_OPTIONS.migrate, batch, retention };
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`${name} must be an integer >= ${min}; got ${String(value)}.`);
  }
}
