/**
 * SQL storage on PostgreSQL: several pools writing the same tasks, concurrent migration, an
 * outage of the adapter's connections (pg_terminate_backend) and the seed's column sizes.
 * Skips locally when PostgreSQL is down; under CI it must run.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqlStorage, migrateSqlStorage } from '../../src/adapters/storage/sql/index.js';
import { isProgressError } from '../../src/shared/errors.js';
import { progress } from '../../src/testing/fixtures.js';
import { pgAvailable, requireService } from '../helpers/services.js';
import { expectConcurrentMigration, expectGaplessAcrossWriters } from '../helpers/sql-cases.js';
import { type AnyKysely, dropTables, pgDb, uniquePrefix } from '../helpers/sql-databases.js';

const run = requireService('PostgreSQL', await pgAvailable());

describe.runIf(run)('sql storage on PostgreSQL', () => {
  const admin = pgDb();
  const prefixes: string[] = [];
  const pools: AnyKysely[] = [];
  const newPrefix = (tag: string) => {
    const prefix = uniquePrefix(tag);
    prefixes.push(prefix);
    return prefix;
  };
  const newDb = (applicationName?: string) => {
    const { db } = pgDb(applicationName === undefined ? {} : { applicationName });
    pools.push(db);
    return db;
  };

  afterAll(async () => {
    for (const prefix of prefixes) await dropTables(admin.db, prefix);
    await Promise.all([...pools, admin.db].map((db) => db.destroy()));
  });

  it('names itself after the detected dialect', () => {
    expect(createSqlStorage({ db: admin.db }).name).toBe('postgres');
  });

  it('gives gapless seqs 1..N when two pools write the same tasks concurrently', async () => {
    await expectGaplessAcrossWriters([newDb(), newDb()], newPrefix('pgrace'));
  });

  it('migrates from four pools at once, and again, without errors', async () => {
    await expectConcurrentMigration([newDb(), newDb(), newDb(), newDb()], newPrefix('pgmig'));
  });

  it("creates the seed's column sizes", async () => {
    const prefix = newPrefix('pgcols');
    await migrateSqlStorage({ db: admin.db, tablePrefix: prefix });
    const { rows } = await sql<{ table_name: string; column_name: string; character_maximum_length: number }>`
      SELECT table_name, column_name, character_maximum_length FROM information_schema.columns
      WHERE table_name LIKE ${`${prefix}%`} AND character_maximum_length IS NOT NULL
      ORDER BY table_name, column_name`.execute(admin.db);
    const sizes = Object.fromEntries(
      rows.map((row) => [
        `${row.table_name.slice(prefix.length)}.${row.column_name}`,
        row.character_maximum_length,
      ]),
    );
    expect(sizes).toEqual({
      'progress_history.current_step': 200,
      'progress_history.message': 500,
      'progress_history.status': 20,
      'progress_history.task_id': 100,
      'progress_history.type': 10,
      'resume_sessions.client_id': 100,
      'resume_sessions.project_id': 100,
      'resume_sessions.user_id': 100,
      'tasks.status': 20,
      'tasks.task_id': 100,
      'websocket_sessions.client_id': 100,
      'websocket_sessions.ip_address': 50,
      'websocket_sessions.project_id': 100,
      'websocket_sessions.user_agent': 500,
      'websocket_sessions.user_id': 100,
    });
  });

  it('rejects appends with StorageError when its connections are terminated, then recovers without a seq gap', async () => {
    const prefix = newPrefix('pgdown');
    const applicationName = `rp-outage-${randomBytes(4).toString('hex')}`;
    const storage = createSqlStorage({ db: newDb(applicationName), tablePrefix: prefix });
    await storage.appendEvents([progress('t', 1), progress('t', 2)]);

    // Hold the task's row lock from another session so the next batch is provably in flight.
    const blocker = await admin.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT seq FROM "${prefix}tasks" WHERE task_id = 't' FOR UPDATE`);
      const inFlight = storage.appendEvents([progress('t', 3)]).catch((error: unknown) => error);
      await waitFor(async () => {
        const { rows } = await admin.pool.query(
          `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [applicationName],
        );
        return rows.length > 0;
      });
      await admin.pool.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [applicationName],
      );
      const error = await inFlight;
      expect(isProgressError(error) && [error.name, error.code, error.retryable]).toEqual([
        'StorageError',
        'STORAGE_UNAVAILABLE',
        true,
      ]);
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }

    // The pool replaces the dead connections; the failed event took no seq.
    const [result] = await storage.appendEvents([progress('t', 4)]);
    expect(result?.ok && result.event.seq).toBe(3);
    expect((await storage.getHistory('t', { limit: 10 })).map((event) => event.seq)).toEqual([1, 2, 3]);
    await storage.close();
  });

  it('keeps seqs gapless when connections are terminated in the middle of a stream of appends', async () => {
    const prefix = newPrefix('pgstrm');
    const applicationName = `rp-stream-${randomBytes(4).toString('hex')}`;
    const storage = createSqlStorage({
      db: newDb(applicationName),
      tablePrefix: prefix,
      batch: { maxEvents: 5 },
      retention: { maxEventsPerTask: 1000 },
    });
    await storage.migrate();
    const calls = Array.from({ length: 300 }, (_, n) =>
      storage.appendEvents([progress(`t${n % 3}`, n % 100)]),
    );
    // Handle every outcome now: a call rejected before allSettled is reached would be reported as unhandled.
    const settled = Promise.allSettled(calls);
    // Terminate once the stream is under way: the first batch has committed, 59 are queued.
    await calls[0];
    await admin.pool.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    );
    const outcomes = await settled;
    const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
    // Batches run back to back, so the termination hits at least the one in flight.
    expect(failures.length > 0).toBe(true);
    expect(failures.every((error) => isProgressError(error) && error.code === 'STORAGE_UNAVAILABLE')).toBe(
      true,
    );
    const stored = outcomes.length - failures.length;
    const histories = await Promise.all(
      ['t0', 't1', 't2'].map((taskId) => storage.getHistory(taskId, { limit: 500 })),
    );
    expect(histories.map((events) => events.map((event) => event.seq))).toEqual(
      histories.map((events) => Array.from({ length: events.length }, (_, i) => i + 1)),
    );
    expect(histories.reduce((sum, events) => sum + events.length, 0)).toBe(stored);
    await storage.close();
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
