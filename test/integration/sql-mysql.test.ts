/**
 * SQL storage on MariaDB/MySQL: several pools writing the same tasks, concurrent migration,
 * exact (binary, no-pad) id comparison, and an outage of the adapter's connection (KILL).
 * Skips locally when the server is down; under CI it must run.
 */
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqlStorage, migrateSqlStorage } from '../../src/adapters/storage/sql/index.js';
import { isProgressError } from '../../src/shared/errors.js';
import { progress } from '../../src/testing/fixtures.js';
import { mysqlAvailable, requireService } from '../helpers/services.js';
import { expectConcurrentMigration, expectGaplessAcrossWriters } from '../helpers/sql-cases.js';
import { type AnyKysely, dropTables, mysqlDb, uniquePrefix } from '../helpers/sql-databases.js';

const run = requireService('MariaDB', await mysqlAvailable());

describe.runIf(run)('sql storage on MariaDB/MySQL', () => {
  const admin = mysqlDb();
  const prefixes: string[] = [];
  const pools: AnyKysely[] = [];
  const newPrefix = (tag: string) => {
    const prefix = uniquePrefix(tag);
    prefixes.push(prefix);
    return prefix;
  };
  const newDb = (connectionLimit?: number) => {
    const db = mysqlDb(connectionLimit);
    pools.push(db);
    return db;
  };

  afterAll(async () => {
    for (const prefix of prefixes) await dropTables(admin, prefix);
    await Promise.all([...pools, admin].map((db) => db.destroy()));
  });

  it('names itself after the detected dialect', () => {
    expect(createSqlStorage({ db: admin }).name).toBe('mysql');
  });

  it('gives gapless seqs 1..N when two pools write the same tasks concurrently', async () => {
    await expectGaplessAcrossWriters([newDb(), newDb()], newPrefix('myrace'));
  });

  it('migrates from four pools at once, and again, without errors', async () => {
    await expectConcurrentMigration([newDb(), newDb(), newDb(), newDb()], newPrefix('mymig'));
  });

  it('creates utf8mb4 tables with a binary no-pad collation, so ids compare exactly', async () => {
    const prefix = newPrefix('mycoll');
    await migrateSqlStorage({ db: admin, tablePrefix: prefix });
    const { rows } = await sql<{ name: string; collation: string }>`
      SELECT TABLE_NAME AS name, TABLE_COLLATION AS collation FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ${`${prefix}%`} ORDER BY TABLE_NAME`.execute(admin);
    const collations = new Set(rows.map((row) => row.collation));
    expect(rows.length).toBe(4);
    expect([...collations].every((name) => name === 'utf8mb4_nopad_bin' || name === 'utf8mb4_0900_bin')).toBe(
      true,
    );
  });

  it('stores ids that differ only by trailing space, case or Unicode normalisation as different tasks', async () => {
    const storage = createSqlStorage({ db: newDb(), tablePrefix: newPrefix('myids') });
    const ids = ['task', 'task ', 'Task', 'caf\u00e9', 'cafe\u0301'];
    await storage.appendEvents(ids.map((id, n) => progress(id, n)));
    const snapshots = await Promise.all(ids.map((id) => storage.getSnapshot(id)));
    expect(snapshots.map((snapshot) => [snapshot?.taskId, snapshot?.seq])).toEqual(ids.map((id) => [id, 1]));
    await storage.close();
  });

  it('rejects an append with StorageError when its connection is killed, then recovers without a seq gap', async () => {
    const prefix = newPrefix('mydown');
    // One connection, so we know which one to kill.
    const db = newDb(1);
    const storage = createSqlStorage({ db, tablePrefix: prefix });
    await storage.appendEvents([progress('t', 1), progress('t', 2)]);
    const { rows } = await sql<{ id: number | string }>`SELECT CONNECTION_ID() AS id`.execute(db);
    const victim = Number(rows[0]?.id);

    await admin.connection().execute(async (blocker) => {
      // Hold the task's row lock from another session so the next batch is provably in flight.
      await sql`START TRANSACTION`.execute(blocker);
      await sql`SELECT seq FROM ${sql.table(`${prefix}tasks`)} WHERE task_id = 't' FOR UPDATE`.execute(
        blocker,
      );
      try {
        const inFlight = storage.appendEvents([progress('t', 3)]).catch((error: unknown) => error);
        // PROCESSLIST, not INNODB_TRX: the latter is a cache that polling faster than 100 ms never refreshes.
        await waitFor(async () => {
          const waiting = await sql`
            SELECT 1 FROM information_schema.PROCESSLIST
            WHERE ID = ${victim} AND COMMAND = 'Query' AND INFO LIKE 'insert into%'`.execute(admin);
          return waiting.rows.length > 0;
        });
        await sql`KILL ${sql.raw(String(victim))}`.execute(admin);
        const error = await inFlight;
        expect(isProgressError(error) && [error.name, error.code]).toEqual([
          'StorageError',
          'STORAGE_UNAVAILABLE',
        ]);
      } finally {
        await sql`ROLLBACK`.execute(blocker);
      }
    });

    // The pool opens a new connection; the failed event took no seq.
    const [result] = await storage.appendEvents([progress('t', 4)]);
    expect(result?.ok && result.event.seq).toBe(3);
    expect((await storage.getHistory('t', { limit: 10 })).map((event) => event.seq)).toEqual([1, 2, 3]);
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
