/**
 * The batch statements for SQLite. Each statement takes its rows as one JSON parameter and
 * expands it with `json_each`, so its text, and the program SQLite compiles from it, stay the
 * same small size whatever the batch holds. Kysely's SQLite driver prepares every statement
 * anew, so with multi-row `VALUES` each batch paid for the query builder's work on every value
 * (12 per history row) and for compiling a statement that grows with the batch. Measured on
 * 100 tasks, CPU per appended event: 85 us with `VALUES`, 65 with this for batches of 100
 * events (one per task); 49 and 42 for batches of 200. SQLite's own work, mostly inserting
 * each history row into its four b-trees and rewriting each task's row, is about 40 of it.
 */
import { type RawBuilder, type Selectable, sql, type Transaction } from 'kysely';
import { type BatchOps, HISTORY_COLUMNS, TASK_COLUMNS } from './batch-ops.js';
import {
  type DatabaseStamp,
  KnownSnapshots,
  STAMP_QUERY,
  type StampRow,
  stampOf,
} from './known-snapshots.js';
import { snapshotFromRow, taskRow } from './rows.js';
import type { SqlSchema, TableNames, TasksTable } from './schema.js';

/**
 * Rows per statement. Not a parameter limit (each statement has one); it bounds the size of
 * the JSON text of a single very large `appendEvents` call.
 */
const ROWS_PER_STATEMENT = 1000;

const chunks = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/** The column list and the matching `json_extract(value, '$[i]')` of each field of a row array. */
const columnsOf = (names: readonly string[]) => ({
  list: sql.join(names.map((name) => sql.ref(name))),
  fields: sql.join(names.map((_, index) => sql`json_extract(value, ${sql.lit(`$[${index}]`)})`)),
});

/**
 * A JSON array of row arrays in `keys` order. JSON keeps every value this adapter writes
 * exactly: integers within 2^53, strings without lone surrogates (refused by validation) and
 * `null`; `json_extract` gives them back as SQLite integers, texts and `NULL`.
 */
const rowsJson = <T extends object>(rows: readonly T[], keys: readonly (keyof T)[]): string =>
  JSON.stringify(rows.map((row) => keys.map((key) => row[key] ?? null)));

export function sqliteBatchOps(tables: TableNames): BatchOps {
  const history = sql.table(tables.progress_history);
  const tasks = sql.table(tables.tasks);
  const historyColumns = columnsOf(HISTORY_COLUMNS);
  const taskColumns = columnsOf(TASK_COLUMNS);
  const known = new KnownSnapshots();
  // `WHERE true`: without it SQLite would read the upsert's ON CONFLICT as a join's ON.
  const insertRows = (table: RawBuilder<unknown>, columns: ReturnType<typeof columnsOf>, json: string) =>
    sql`INSERT INTO ${table} (${columns.list}) SELECT ${columns.fields} FROM json_each(${json}) WHERE true`;
  const readStamp = async (trx: Transaction<SqlSchema>): Promise<DatabaseStamp> =>
    stampOf((await sql<StampRow>`${sql.raw(STAMP_QUERY)}`.execute(trx)).rows[0]);

  return {
    async lockTasks(trx, taskIds) {
      // A write that changes nothing takes the database's write lock before anything is read:
      // nothing else commits until this batch does, so the stamp and the rows read next are
      // those the batch writes over. (No row needs reserving: the lock covers new tasks too.)
      await sql`UPDATE ${tasks} SET seq = seq WHERE false`.execute(trx);
      known.begin(await readStamp(trx));
      const { snapshots, unknown } = known.lookup(taskIds);
      for (const ids of chunks(unknown, ROWS_PER_STATEMENT)) {
        const { rows } = await sql<Selectable<TasksTable>>`
          SELECT * FROM ${tasks} WHERE task_id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`.execute(
          trx,
        );
        for (const row of rows) snapshots.set(row.task_id, snapshotFromRow(row));
      }
      return snapshots;
    },

    async write(trx, { history: rows, snapshots, trims }) {
      for (const batch of chunks(rows, ROWS_PER_STATEMENT)) {
        await insertRows(history, historyColumns, rowsJson(batch, HISTORY_COLUMNS)).execute(trx);
      }
      // created_at too: a row reserved by an earlier version of this adapter carries a placeholder time.
      for (const batch of chunks(snapshots.map(taskRow), ROWS_PER_STATEMENT)) {
        await sql`${insertRows(tasks, taskColumns, rowsJson(batch, TASK_COLUMNS))}
          ON CONFLICT (task_id) DO UPDATE SET seq = excluded.seq, status = excluded.status,
            state = excluded.state, error = excluded.error, result = excluded.result,
            created_at = excluded.created_at, updated_at = excluded.updated_at`.execute(trx);
      }
      // Each range is an index range scan of (task_id, seq); rows go by their rowid.
      for (const batch of chunks(trims, ROWS_PER_STATEMENT)) {
        const ranges = JSON.stringify(batch.map(({ taskId, after, through }) => [taskId, after, through]));
        await sql`
          DELETE FROM ${history} WHERE id IN (
            SELECT h.id FROM json_each(${ranges}) AS r CROSS JOIN ${history} AS h
            WHERE h.task_id = json_extract(r.value, '$[0]')
              AND h.seq > json_extract(r.value, '$[1]') AND h.seq <= json_extract(r.value, '$[2]'))`.execute(
          trx,
        );
      }
      known.written(await readStamp(trx));
    },

    committed: (snapshots) => known.committed(snapshots),
  };
}
