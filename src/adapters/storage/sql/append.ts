/**
 * One group-committed batch in one transaction: lock the batch's task rows, apply
 * {@link applyTaskEvent} in memory, then write history rows, snapshots and the retention trim.
 */
import type { Kysely, Transaction } from 'kysely';
import { applyTaskEvent } from '../task-events.js';
import type { AppendResult, NewTaskEvent, StoredTaskEvent, TaskSnapshot } from '../types.js';
import type { BatchOps, TrimRange } from './batch-ops.js';
import { isTransientError, type SqlDialectName } from './dialect.js';
import { historyRow } from './rows.js';
import type { SqlSchema } from './schema.js';

export interface AppendContext {
  readonly dialect: SqlDialectName;
  readonly ops: BatchOps;
  readonly maxEventsPerTask: number;
}

/** Attempts for a batch that hit a deadlock or a busy database. */
const MAX_ATTEMPTS = 4;

/** Writes `events` in one transaction (retried on deadlocks) and returns one result per event. */
export async function appendBatch(
  db: Kysely<SqlSchema>,
  ctx: AppendContext,
  events: readonly NewTaskEvent[],
): Promise<AppendResult[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { results, snapshots } = await db
        .transaction()
        .execute((trx) => appendInTransaction(trx, ctx, events));
      ctx.ops.committed?.(snapshots);
      return results;
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !isTransientError(ctx.dialect, error)) throw error;
      // A short random pause lets the transaction that won the lock commit first.
      await new Promise((resolve) => setTimeout(resolve, attempt * 5 * Math.random()));
    }
  }
}

async function appendInTransaction(
  trx: Transaction<SqlSchema>,
  ctx: AppendContext,
  events: readonly NewTaskEvent[],
): Promise<{ results: AppendResult[]; snapshots: TaskSnapshot[] }> {
  // Sorted so that every writer locks rows in the same order: no deadlock cycles.
  const taskIds = [...new Set(events.map((event) => event.taskId))].sort();
  const snapshots = await ctx.ops.lockTasks(trx, taskIds, events[0]?.timestampMs ?? 0);
  const previousSeqs = new Map(taskIds.map((taskId) => [taskId, snapshots.get(taskId)?.seq ?? 0]));

  const results: AppendResult[] = [];
  const stored: { event: StoredTaskEvent; state: TaskSnapshot['state'] }[] = [];
  const changed = new Map<string, TaskSnapshot>();
  for (const event of events) {
    const applied = applyTaskEvent(snapshots.get(event.taskId) ?? null, event);
    if (!applied.ok) {
      results.push(applied);
      continue;
    }
    snapshots.set(event.taskId, applied.snapshot);
    changed.set(event.taskId, applied.snapshot);
    stored.push({ event: applied.event, state: applied.snapshot.state });
    results.push({ ok: true, event: applied.event });
  }

  // Events already beyond their task's retention window when the batch ends are not written
  // at all (a batch with more than maxEventsPerTask events of one task), so the trim only ever
  // deletes rows of earlier batches.
  const keepFrom = (taskId: string) => (changed.get(taskId)?.seq ?? 0) - ctx.maxEventsPerTask;
  const written = [...changed.values()];
  await ctx.ops.write(trx, {
    history: stored
      .filter(({ event }) => event.seq > keepFrom(event.taskId))
      .map(({ event, state }) => historyRow(event, state)),
    snapshots: written,
    trims: trimRanges(ctx.maxEventsPerTask, previousSeqs, changed),
  });
  return { results, snapshots: written };
}

/**
 * Retention, in the same transaction while the task rows are locked: the stored events that
 * this batch pushed out of each task's window of `max`, i.e. seqs in
 * (previous - max, min(new - max, previous)]. Older ones were trimmed by earlier appends;
 * bounding the range below keeps the delete to an index range over exactly those rows instead
 * of a walk over every not-yet-vacuumed row below the cutoff (measured on PostgreSQL: 24 ms per
 * batch without the lower bound, ~1 ms with it). After `maxEventsPerTask` is lowered, the
 * surplus of older rows leaves with the TTL.
 */
export function trimRanges(
  max: number,
  previousSeqs: ReadonlyMap<string, number>,
  changed: ReadonlyMap<string, TaskSnapshot>,
): TrimRange[] {
  const ranges: TrimRange[] = [];
  for (const [taskId, snapshot] of changed) {
    const previous = previousSeqs.get(taskId) ?? 0;
    const after = Math.max(0, previous - max);
    const through = Math.min(snapshot.seq - max, previous);
    if (through > after) ranges.push({ taskId, after, through });
  }
  return ranges;
}
