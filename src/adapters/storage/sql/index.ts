/**
 * @module realtime-progress/sql
 * Storage on the host's Kysely instance: SQLite (better-sqlite3), PostgreSQL (pg) or
 * MySQL/MariaDB (mysql2). Group-committed appends with per-task `seq` assigned under a row lock,
 * so any number of processes may write the same tasks. See `docs/storage-adapters.md`.
 */
import type { Kysely } from 'kysely';
import { isProgressError, ProgressError, StorageError } from '../../../shared/errors.js';
import type { AppendResult, NewTaskEvent, StorageAdapter } from '../types.js';
import { appendBatch } from './append.js';
import { portableBatchOps } from './batch-ops.js';
import { postgresBatchOps } from './batch-ops-postgres.js';
import { sqliteBatchOps } from './batch-ops-sqlite.js';
import { sqlitePreparedBatchOps } from './batch-ops-sqlite-prepared.js';
import { cleanup } from './cleanup.js';
import { detectDialect, jsonColumnBytes, type SqlDialectName } from './dialect.js';
import { createGroupCommit } from './group-commit.js';
import { migrateSqlStorage } from './migrate.js';
import { resolveSqlOptions, type SqlStorageOptions } from './options.js';
import { type SqlSchema, typedTableNames } from './schema.js';
import { deleteSession, getConnection, getSession, recordConnection, saveSession } from './sessions.js';
import { clearHistory, getHistory, getSnapshot, getStats } from './tasks.js';
import { validateConnection, validateEvents, validateSession } from './validate.js';

export type { SqlDialectName } from './dialect.js';
export { type MigrateSqlStorageOptions, migrateSqlStorage, migrationStatements } from './migrate.js';
export {
  DEFAULT_SQL_OPTIONS,
  type SqlBatchOptions,
  type SqliteDatabaseHandle,
  type SqlStorageOptions,
} from './options.js';
export { sqlTableNames } from './schema.js';

/** A SQL storage adapter; `migrate()` creates its tables now rather than before the first query. */
export interface SqlStorage extends StorageAdapter {
  readonly name: SqlDialectName;
  /** Runs the idempotent migration (also what `migrate: true` does lazily). */
  migrate(): Promise<void>;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const DIALECT_LABEL: Record<SqlDialectName, string> = {
  sqlite: 'SQLite',
  postgres: 'PostgreSQL',
  mysql: 'MySQL',
};

/**
 * Creates the SQL storage adapter on a Kysely instance the host owns (and closes).
 * @example
 * import Database from 'better-sqlite3';
 * import { Kysely, SqliteDialect } from 'kysely';
 * const db = new Kysely({ dialect: new SqliteDialect({ database: new Database('progress.db') }) });
 * const server = createProgressServer(httpServer, createSqlStorage({ db }));
 * @throws {TypeError} for an unusable option (bad `tablePrefix`, unknown dialect).
 */
export function createSqlStorage(options: SqlStorageOptions): SqlStorage {
  const resolved = resolveSqlOptions(options);
  // Without the host's plugins: a CamelCasePlugin would rename our columns in every result.
  const db = options.db.withoutPlugins() as unknown as Kysely<SqlSchema>;
  const dialect = options.dialect ?? detectDialect(db);
  if (options.sqliteDatabase !== undefined && dialect !== 'sqlite') {
    throw new TypeError(
      `sqliteDatabase is for SQLite only; this Kysely instance is ${DIALECT_LABEL[dialect]}.`,
    );
  }
  const tables = typedTableNames(resolved.tablePrefix);
  const jsonBytes = jsonColumnBytes(dialect);
  const label = `${DIALECT_LABEL[dialect]} (tables ${resolved.tablePrefix}*)`;
  let closed = false;
  let migration: Promise<void> | undefined;

  const migrate = (): Promise<void> => {
    migration ??= migrateSqlStorage({ db, tablePrefix: resolved.tablePrefix, dialect }).catch(
      (error: unknown) => {
        migration = undefined; // let the next call try again once the database is back
        throw error;
      },
    );
    return migration;
  };

  /** Our own errors (validation, CLOSED) pass through; driver errors become a StorageError. */
  const toStorageError = (error: unknown, message: string): unknown =>
    isProgressError(error) ? error : new StorageError(`${message}: ${messageOf(error)}.`, { cause: error });

  /** Runs one operation: refuses after close, migrates first if asked, normalises failures. */
  const run = async <T>(what: string, operation: () => Promise<T>): Promise<T> => {
    if (closed) throw new ProgressError('CLOSED', `${what} was called after the SQL storage was closed.`);
    try {
      if (resolved.migrate) await migrate();
      return await operation();
    } catch (error) {
      throw toStorageError(error, `${what} failed on ${label}`);
    }
  };

  const appendContext = {
    dialect,
    ops:
      dialect === 'postgres'
        ? postgresBatchOps(tables)
        : dialect === 'sqlite'
          ? options.sqliteDatabase !== undefined
            ? sqlitePreparedBatchOps(options.sqliteDatabase, tables)
            : sqliteBatchOps(tables)
          : portableBatchOps(dialect, tables),
    maxEventsPerTask: resolved.retention.maxEventsPerTask,
  };
  const commits = createGroupCommit<NewTaskEvent, AppendResult>(
    async (events) => {
      if (resolved.migrate) await migrate();
      return appendBatch(db, appendContext, events);
    },
    (error, count) =>
      toStorageError(error, `Writing ${count} events to ${label} failed and none of them was stored`),
    { maxItems: resolved.batch.maxEvents, maxDelayMs: resolved.batch.maxDelayMs },
  );

  return {
    name: dialect,
    migrate: () => run('migrate', migrate),
    async appendEvents(events) {
      if (closed)
        throw new ProgressError('CLOSED', 'appendEvents was called after the SQL storage was closed.');
      validateEvents(events, jsonBytes);
      return commits.submit(events);
    },
    getSnapshot: (taskId) => run('getSnapshot', () => getSnapshot(db, tables, taskId)),
    getHistory: (taskId, query) => run('getHistory', () => getHistory(db, tables, taskId, query)),
    clearHistory: (taskId) => run('clearHistory', () => clearHistory(db, tables, taskId)),
    getStats: () => run('getStats', () => getStats(db, tables)),
    saveSession: (session) =>
      run('saveSession', () => {
        validateSession(session, jsonBytes);
        return saveSession(db, tables, dialect, session);
      }),
    getSession: (clientId, nowMs) => run('getSession', () => getSession(db, tables, clientId, nowMs)),
    deleteSession: (clientId) => run('deleteSession', () => deleteSession(db, tables, clientId)),
    recordConnection: (record) =>
      run('recordConnection', () => {
        validateConnection(record);
        return recordConnection(db, tables, dialect, record, Date.now());
      }),
    getConnection: (clientId) => run('getConnection', () => getConnection(db, tables, clientId)),
    cleanup: (nowMs) => run('cleanup', () => cleanup(db, tables, resolved.retention.ttlMs, nowMs)),
    async close() {
      if (closed) return;
      closed = true;
      // Pending appends still commit; the Kysely instance (and its pool) stays the host's.
      await commits.flush();
    },
  };
}
