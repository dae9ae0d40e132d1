/**
 * The statements of a batch, written with the query builder as multi-row statements: what
 * MySQL/MariaDB runs. PostgreSQL (`batch-ops-postgres.ts`) sends column arrays and SQLite
 * (`batch-ops-sqlite.ts`) one JSON text per statement instead of one parameter per value.
 */
import { type Expression, type SqlBool, sql, type Transaction } from 'kysely';
import type { TaskSnapshot } from '../types.js';
import type { SqlDialectName } from './dialect.js';
import { type historyRow, placeholderTaskRow, snapshotFromRow, taskRow } from './rows.js';
import type { SqlSchema, TableNames } from './schema.js';

export type HistoryRow = ReturnType<typeof historyRow>;
type TaskRow = ReturnType<typeof taskRow>;

/** The history columns a batch writes, in the order the column-wise statements send them. */
export const HISTORY_COLUMNS = [
  'task_id',
  'seq',
  'type',
  'progress',
  'current_step',
  'total_steps',
  'completed_steps',
  'message',
  'status',
  'metadata',
  'payload',
  'created_at',
] as const satisfies readonly (keyof HistoryRow)[];

/** The task columns a batch writes, in the same sense. */
export const TASK_COLUMNS = [
  'task_id',
  'seq',
  'status',
  'state',
  'error',
  'result',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof TaskRow)[];

/** Events of one task to delete: `after < seq <= through`. */
export interface TrimRange {
  readonly taskId: string;
  readonly after: number;
  readonly through: number;
}

/** What a batch writes once its events are applied. */
export interface BatchWrite {
  readonly history: readonly HistoryRow[];
  /** New snapshots of the tasks that changed (on PostgreSQL and MySQL, of rows locked). */
  readonly snapshots: readonly TaskSnapshot[];
  /** Retention: older events to delete (never rows of `history`). */
  readonly trims: readonly TrimRange[];
}

/**
 * What a batch needs from the database; `lockTasks` and `write` run inside the batch's
 * transaction.
 */
export interface BatchOps {
  /**
   * Locks the batch's tasks (ids sorted, so every writer locks in the same order) and returns
   * their snapshots: `null`, or no entry, for a task with no events yet.
   */
  lockTasks(
    trx: Transaction<SqlSchema>,
    taskIds: readonly string[],
    nowMs: number,
  ): Promise<Map<string, TaskSnapshot | null>>;
  write(trx: Transaction<SqlSchema>, batch: BatchWrite): Promise<void>;
  /** Called once the batch's transaction has committed, with the snapshots it wrote. */
  committed?(snapshots: readonly TaskSnapshot[]): void;
}

/** Rows per multi-row statement: ~13 parameters each stays below SQLite's 32,766. */
const ROWS_PER_STATEMENT = 1000;

const chunks = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

export function portableBatchOps(dialect: Exclude<SqlDialectName, 'postgres'>, tables: TableNames): BatchOps {
  const saveSnapshots = async (trx: Transaction<SqlSchema>, snapshots: readonly TaskSnapshot[]) => {
    for (const batch of chunks(snapshots, ROWS_PER_STATEMENT)) {
      const insert = trx.insertInto(tables.tasks).values(batch.map(taskRow));
      // Every row exists (reserved by lockTasks), so the upsert is a multi-row update in one
      // statement; created_at too, since a reserved row only carries a placeholder time.
      if (dialect === 'mysql') {
        await insert
          .onDuplicateKeyUpdate({
            seq: sql`VALUES(seq)`,
            status: sql`VALUES(status)`,
            state: sql`VALUES(state)`,
            error: sql`VALUES(error)`,
            result: sql`VALUES(result)`,
            created_at: sql`VALUES(created_at)`,
            updated_at: sql`VALUES(updated_at)`,
          })
          .execute();
      } else {
        await insert
          .onConflict((oc) =>
            oc.column('task_id').doUpdateSet((eb) => ({
              seq: eb.ref('excluded.seq'),
              status: eb.ref('excluded.status'),
              state: eb.ref('excluded.state'),
              error: eb.ref('excluded.error'),
              result: eb.ref('excluded.result'),
              created_at: eb.ref('excluded.created_at'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
    }
  };

  return {
    async lockTasks(trx, taskIds, nowMs) {
      const snapshots = new Map<string, TaskSnapshot | null>();
      for (const ids of chunks(taskIds, ROWS_PER_STATEMENT)) {
        // Inserting first is what makes a brand-new task safe: two writers cannot both see
        // "no row" and both take seq 1, because the second insert waits for the first
        // transaction. On SQLite this write also takes the database lock before any read.
        const insert = trx.insertInto(tables.tasks).values(ids.map((id) => placeholderTaskRow(id, nowMs)));
        if (dialect === 'mysql') {
          // INSERT IGNORE would take a shared lock on an existing row and deadlock on the upgrade
          // to FOR UPDATE; a no-op ON DUPLICATE KEY UPDATE takes the exclusive lock at once.
          await insert.onDuplicateKeyUpdate((eb) => ({ task_id: eb.ref('task_id') })).execute();
        } else {
          await insert.onConflict((oc) => oc.column('task_id').doNothing()).execute();
        }
        let select = trx.selectFrom(tables.tasks).selectAll().where('task_id', 'in', ids);
        if (dialect === 'mysql') select = select.forUpdate();
        for (const row of await select.execute()) snapshots.set(row.task_id, snapshotFromRow(row));
      }
      return snapshots;
    },

    async write(trx, { history, snapshots, trims }) {
      for (const rows of chunks(history, ROWS_PER_STATEMENT)) {
        await trx.insertInto(tables.progress_history).values(rows).execute();
      }
      await saveSnapshots(trx, snapshots);
      for (const ranges of chunks(trims, ROWS_PER_STATEMENT / 3)) {
        await trx
          .deleteFrom(tables.progress_history)
          .where((eb) =>
            eb.or(
              ranges.map(
                ({ taskId, after, through }): Expression<SqlBool> =>
                  eb.and([eb('task_id', '=', taskId), eb('seq', '>', after), eb('seq', '<=', through)]),
              ),
            ),
          )
          .execute();
      }
    },
  };
}
