/**
 * Multi-process cases shared by the PostgreSQL and MariaDB integration tests: several Kysely
 * instances (separate pools, as separate processes would have) writing the same tasks and
 * migrating the same tables at once.
 */
import { expect } from 'vitest';
import { createSqlStorage, migrateSqlStorage } from '../../src/adapters/storage/sql/index.js';
import type { NewTaskEvent, StorageAdapter } from '../../src/adapters/storage/types.js';
import type { AnyKysely } from './sql-databases.js';

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

const progressEvent = (taskId: string, message: string, timestampMs: number): NewTaskEvent => ({
  taskId,
  type: 'progress',
  timestampMs,
  data: { progress: 1, current_step: 'work', total_steps: 1, completed_steps: 0, message },
});

/**
 * Each writer appends `perWriter` events spread over `taskIds`, all calls at once, in small
 * batches so that many transactions of both writers interleave. Returns each task's history.
 */
export async function writeConcurrently(
  writers: readonly StorageAdapter[],
  taskIds: readonly string[],
  perWriter: number,
): Promise<Map<string, { seqs: number[]; messages: string[] }>> {
  await Promise.all(
    writers.flatMap((writer, w) =>
      range(1, perWriter).map((n) =>
        writer.appendEvents([progressEvent(taskIds[n % taskIds.length]!, `w${w}-${n}`, Date.now())]),
      ),
    ),
  );
  const histories = new Map<string, { seqs: number[]; messages: string[] }>();
  for (const taskId of taskIds) {
    const events = await writers[0]!.getHistory(taskId, { limit: 10_000 });
    histories.set(taskId, {
      seqs: events.map((event) => event.seq),
      messages: events.map((event) => (event.payload as { message: string }).message),
    });
  }
  return histories;
}

/** Two writers on two pools: every task's seqs are exactly 1..N and no event is lost or doubled. */
export async function expectGaplessAcrossWriters(dbs: readonly AnyKysely[], prefix: string): Promise<void> {
  await migrateSqlStorage({ db: dbs[0]!, tablePrefix: prefix });
  // Small batches, no delay: as many competing transactions as possible.
  const writers = dbs.map((db) =>
    createSqlStorage({
      db,
      tablePrefix: prefix,
      migrate: false,
      batch: { maxEvents: 3, maxDelayMs: 0 },
      // Keep every event, so the whole history can be checked.
      retention: { maxEventsPerTask: 100_000 },
    }),
  );
  try {
    const perWriter = 150;
    // Fresh task ids: both writers race to create them, the hardest case for seq 1.
    const taskIds = ['race-0', 'race-1', 'race-2'];
    const histories = await writeConcurrently(writers, taskIds, perWriter);
    const expectedMessages = writers.flatMap((_, w) => range(1, perWriter).map((n) => `w${w}-${n}`)).sort();
    const all = [...histories.values()];
    expect(all.map((history) => history.seqs)).toEqual(all.map((history) => range(1, history.seqs.length)));
    expect(all.flatMap((history) => history.messages).sort()).toEqual(expectedMessages);
  } finally {
    await Promise.all(writers.map((writer) => writer.close()));
  }
}

/** Several pools run the migration at the same moment, then again: every run succeeds. */
export async function expectConcurrentMigration(dbs: readonly AnyKysely[], prefix: string): Promise<void> {
  const outcomes = await Promise.allSettled(dbs.map((db) => migrateSqlStorage({ db, tablePrefix: prefix })));
  expect(outcomes.map((outcome) => outcome.status)).toEqual(dbs.map(() => 'fulfilled'));
  const again = await Promise.allSettled(dbs.map((db) => migrateSqlStorage({ db, tablePrefix: prefix })));
  expect(again.map((outcome) => outcome.status)).toEqual(dbs.map(() => 'fulfilled'));
  const storage = createSqlStorage({ db: dbs[0]!, tablePrefix: prefix, migrate: false });
  try {
    const [result] = await storage.appendEvents([progressEvent('after-migration', 'ok', Date.now())]);
    expect(result?.ok && result.event.seq).toBe(1);
  } finally {
    await storage.close();
  }
}
