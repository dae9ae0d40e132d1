/**
 * Reads of task state and history, and `clearHistory`.
 */
import type { Kysely } from 'kysely';
import type { HistoryQuery, StoredTaskEvent, TaskSnapshot, TaskStats } from '../types.js';
import { eventFromRow, snapshotFromRow } from './rows.js';
import { type SqlSchema, type TableNames, toNumber } from './schema.js';
import { isStorableId } from './validate.js';

export async function getSnapshot(
  db: Kysely<SqlSchema>,
  tables: TableNames,
  taskId: string,
): Promise<TaskSnapshot | null> {
  if (!isStorableId(taskId)) return null;
  const row = await db.selectFrom(tables.tasks).selectAll().where('task_id', '=', taskId).executeTakeFirst();
  return row === undefined ? null : snapshotFromRow(row);
}

export async function getHistory(
  db: Kysely<SqlSchema>,
  tables: TableNames,
  taskId: string,
  query: HistoryQuery,
): Promise<StoredTaskEvent[]> {
  if (query.limit <= 0 || !isStorableId(taskId)) return [];
  const base = db.selectFrom(tables.progress_history).selectAll().where('task_id', '=', taskId);
  if (query.afterSeq !== undefined) {
    const rows = await base
      .where('seq', '>', query.afterSeq)
      .orderBy('seq', 'asc')
      .limit(query.limit)
      .execute();
    return rows.map(eventFromRow);
  }
  // The last `limit` events: read them newest first (an index range scan), return oldest first.
  const rows = await base.orderBy('seq', 'desc').limit(query.limit).execute();
  return rows.reverse().map(eventFromRow);
}

export async function clearHistory(
  db: Kysely<SqlSchema>,
  tables: TableNames,
  taskId: string,
): Promise<number> {
  if (!isStorableId(taskId)) return 0;
  const result = await db
    .deleteFrom(tables.progress_history)
    .where('task_id', '=', taskId)
    .executeTakeFirst();
  return toNumber(result.numDeletedRows);
}

export async function getStats(db: Kysely<SqlSchema>, tables: TableNames): Promise<TaskStats> {
  const rows = await db
    .selectFrom(tables.tasks)
    .select(['status', (eb) => eb.fn.countAll<number | string>().as('count')])
    .where('seq', '>', 0)
    .groupBy('status')
    .execute();
  const count = (status: string) => toNumber(rows.find((row) => row.status === status)?.count ?? 0);
  return {
    totalTasks: rows.reduce((sum, row) => sum + toNumber(row.count), 0),
    activeTasks: count('pending') + count('running'),
    completedTasks: count('completed'),
    failedTasks: count('failed'),
  };
}
