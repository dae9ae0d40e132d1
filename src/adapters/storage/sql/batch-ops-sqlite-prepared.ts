/**
 * The batch statements for SQLite when the host also hands over its better-sqlite3 handle
 * (`sqliteDatabase`): each statement is prepared once and run once per row. Kysely's SQLite
 * driver prepares every statement anew, which is why the other SQLite path
 * (`batch-ops-sqlite.ts`) packs a batch's rows into one JSON parameter per statement; prepared
 * once, a plain one-row statement is cheaper than expanding JSON. The statements run inside the
 * batch's Kysely transaction, on the same connection: Kysely holds that connection for the
 * transaction, so nothing else runs on it meanwhile.
 */
import type { Selectable } from 'kysely';
import { type BatchOps, HISTORY_COLUMNS, TASK_COLUMNS } from './batch-ops.js';
import { KnownSnapshots, STAMP_QUERY, type StampRow, stampOf } from './known-snapshots.js';
import type { SqliteDatabaseHandle } from './options.js';
import { snapshotFromRow, taskRow } from './rows.js';
import type { TableNames, TasksTable } from './schema.js';

const placeholders = (count: number) => Array.from({ length: count }, () => '?').join(', ');

function prepareStatements(database: SqliteDatabaseHandle, tables: TableNames) {
  const history = `"${tables.progress_history}"`;
  const tasks = `"${tables.tasks}"`;
  const taskUpdates = TASK_COLUMNS.filter((name) => name !== 'task_id')
    .map((name) => `${name} = excluded.${name}`)
    .join(', ');
  return {
    lock: database.prepare(`UPDATE ${tasks} SET seq = seq WHERE false`),
    stamp: database.prepare(STAMP_QUERY),
    task: database.prepare(`SELECT * FROM ${tasks} WHERE task_id = ?`),
    insertHistory: database.prepare(
      `INSERT INTO ${history} (${HISTORY_COLUMNS.join(', ')}) VALUES (${placeholders(HISTORY_COLUMNS.length)})`,
    ),
    saveTask: database.prepare(
      `INSERT INTO ${tasks} (${TASK_COLUMNS.join(', ')}) VALUES (${placeholders(TASK_COLUMNS.length)})
       ON CONFLICT (task_id) DO UPDATE SET ${taskUpdates}`,
    ),
    trim: database.prepare(`DELETE FROM ${history} WHERE task_id = ? AND seq > ? AND seq <= ?`),
  };
}

export function sqlitePreparedBatchOps(database: SqliteDatabaseHandle, tables: TableNames): BatchOps {
  const known = new KnownSnapshots();
  // Prepared on the first batch, once the tables exist.
  let statements: ReturnType<typeof prepareStatements> | undefined;
  const stamp = () => stampOf(statements?.stamp.get() as StampRow | undefined);

  return {
    async lockTasks(_trx, taskIds) {
      // Kysely's BEGIN ran on this handle's connection only if it is the one behind `db`.
      if (!database.inTransaction) {
        throw new TypeError(
          'sqliteDatabase is not the better-sqlite3 database behind db: pass the same object given to SqliteDialect.',
        );
      }
      statements ??= prepareStatements(database, tables);
      // As in batch-ops-sqlite.ts: the write lock first, then the stamp, then unknown tasks.
      statements.lock.run();
      known.begin(stamp());
      const { snapshots, unknown } = known.lookup(taskIds);
      for (const taskId of unknown) {
        const row = statements.task.get(taskId) as Selectable<TasksTable> | undefined;
        if (row !== undefined) snapshots.set(taskId, snapshotFromRow(row));
      }
      return snapshots;
    },

    async write(_trx, { history, snapshots, trims }) {
      if (statements === undefined) throw new Error('write before lockTasks');
      for (const row of history) statements.insertHistory.run(HISTORY_COLUMNS.map((key) => row[key] ?? null));
      // created_at too: a row reserved by an earlier version of this adapter carries a placeholder time.
      for (const snapshot of snapshots) {
        const row = taskRow(snapshot);
        statements.saveTask.run(TASK_COLUMNS.map((key) => row[key] ?? null));
      }
      for (const { taskId, after, through } of trims) statements.trim.run(taskId, after, through);
      known.written(stamp());
    },

    committed: (snapshots) => known.committed(snapshots),
  };
}
