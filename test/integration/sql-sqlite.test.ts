/**
 * SQL storage behaviours beyond the conformance suite, on SQLite: restart on the same file,
 * group commit, validation before the database, outage and recovery, and the table layout.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { CamelCasePlugin, Kysely, SqliteDialect, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSqlStorage,
  migrateSqlStorage,
  type SqliteDatabaseHandle,
  type SqlStorage,
  type SqlStorageOptions,
} from '../../src/adapters/storage/sql/index.js';
import type { NewTaskEvent } from '../../src/adapters/storage/types.js';
import { isProgressError } from '../../src/shared/errors.js';
import { type AnyKysely, sqliteConnection, sqliteDb, tempDir } from '../helpers/sql-databases.js';

const T0 = 1_704_067_200_000;

const progress = (
  taskId: string,
  n: number,
  message = `event ${n}`,
  metadata?: Record<string, unknown>,
): NewTaskEvent => {
  const data = {
    progress: n % 101,
    current_step: `step ${n}`,
    total_steps: 100,
    completed_steps: n,
    message,
  };
  return {
    taskId,
    type: 'progress',
    timestampMs: T0 + n,
    data: metadata === undefined ? data : { ...data, metadata },
  };
};

const seqs = (results: readonly { ok: boolean; event?: { seq: number } }[]) =>
  results.map((result) => (result.ok ? result.event?.seq : 'refused'));

/** Resources to release after each case. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A new in-memory database, destroyed after the case. */
function memoryDb(): AnyKysely {
  const db = sqliteDb();
  cleanups.push(() => db.destroy());
  return db;
}

/** A database file in a temporary directory; `open()` gives a new connection to it. */
function fileDb(): { file: string; open: () => AnyKysely } {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const file = join(dir.path, 'progress.db');
  return {
    file,
    open: () => {
      const db = sqliteDb(file);
      cleanups.push(() => db.destroy());
      return db;
    },
  };
}

function storageOn(
  db: AnyKysely,
  options: Omit<Parameters<typeof createSqlStorage>[0], 'db'> = {},
): SqlStorage {
  const storage = createSqlStorage({ db, ...options });
  cleanups.push(() => storage.close());
  return storage;
}

describe('sql storage on a SQLite file', () => {
  it('names itself after the detected dialect', () => {
    expect(storageOn(memoryDb()).name).toBe('sqlite');
  });

  it('sees snapshot, history, sessions, connections and stats after a restart on the same file', async () => {
    const file = fileDb();
    const first = createSqlStorage({ db: file.open() });
    await first.appendEvents([progress('t', 1), progress('t', 2), progress('u', 3)]);
    await first.saveSession({
      clientId: 'c1',
      userId: 'u1',
      projectId: 'p1',
      subscriptions: { t: 2 },
      lastActiveAtMs: T0,
      expiresAtMs: T0 + 60_000,
    });
    await first.recordConnection({
      clientId: 'c1',
      userId: 'u1',
      projectId: 'p1',
      connectedAtMs: T0,
      disconnectedAtMs: T0 + 10,
      lastActiveAtMs: T0 + 5,
      messageCount: 3,
      ipAddress: '::1',
      userAgent: 'test',
    });
    const before = {
      snapshot: await first.getSnapshot('t'),
      history: await first.getHistory('t', { limit: 10 }),
      session: await first.getSession('c1', T0),
      connection: await first.getConnection('c1'),
      stats: await first.getStats(),
    };
    await first.close();

    const second = storageOn(file.open());
    expect({
      snapshot: await second.getSnapshot('t'),
      history: await second.getHistory('t', { limit: 10 }),
      session: await second.getSession('c1', T0),
      connection: await second.getConnection('c1'),
      stats: await second.getStats(),
    }).toEqual(before);
    expect(seqs(await second.appendEvents([progress('t', 3)]))).toEqual([3]);
  });

  it('migrates idempotently: twice in a row and again on an existing file', async () => {
    const file = fileDb();
    const db = file.open();
    await migrateSqlStorage({ db });
    await migrateSqlStorage({ db });
    const storage = storageOn(db);
    await storage.migrate();
    expect(seqs(await storage.appendEvents([progress('t', 1)]))).toEqual([1]);
  });

  it('stores the seed columns of ProgressHistory for each event', async () => {
    const db = memoryDb();
    const storage = storageOn(db);
    await storage.appendEvents([progress('t', 7, 'event 7', { a: 1 })]);
    const rows =
      await sql`SELECT task_id, seq, type, progress, current_step, total_steps, completed_steps, message, status, metadata, created_at FROM rp_progress_history`.execute(
        db,
      );
    expect(rows.rows).toEqual([
      {
        task_id: 't',
        seq: 1,
        type: 'progress',
        progress: 7,
        current_step: 'step 7',
        total_steps: 100,
        completed_steps: 7,
        message: 'event 7',
        status: 'running',
        metadata: '{"a":1}',
        created_at: T0 + 7,
      },
    ]);
  });

  it('trims history to maxEventsPerTask on append, before any cleanup', async () => {
    const storage = storageOn(memoryDb(), { retention: { maxEventsPerTask: 3 } });
    await storage.appendEvents([1, 2, 3, 4, 5].map((n) => progress('t', n)));
    expect((await storage.getHistory('t', { limit: 10 })).map((event) => event.seq)).toEqual([3, 4, 5]);
  });

  it('keeps exactly the last maxEventsPerTask events across many appends of any size', async () => {
    const storage = storageOn(memoryDb(), { retention: { maxEventsPerTask: 3 } });
    for (let n = 1; n <= 10; n++) await storage.appendEvents([progress('t', n)]);
    await storage.appendEvents([11, 12, 13, 14, 15].map((n) => progress('t', n)));
    await storage.appendEvents([progress('t', 16)]);
    expect((await storage.getHistory('t', { limit: 10, afterSeq: 0 })).map((event) => event.seq)).toEqual([
      14, 15, 16,
    ]);
  });

  it('ignores the host Kysely plugins (CamelCasePlugin)', async () => {
    const db = new Kysely({
      dialect: new SqliteDialect({ database: new Database(':memory:') }),
      plugins: [new CamelCasePlugin()],
    });
    cleanups.push(() => db.destroy());
    const storage = storageOn(db);
    await storage.appendEvents([progress('t', 1)]);
    expect((await storage.getSnapshot('t'))?.state.current_step).toBe('step 1');
  });

  it('refuses a bad tablePrefix at construction', () => {
    expect(() => createSqlStorage({ db: memoryDb(), tablePrefix: 'rp; DROP' })).toThrow(TypeError);
  });
});

describe('several processes on one SQLite file', () => {
  it('gives gapless seqs 1..N when three processes write the same tasks at once, one through sqliteDatabase', async () => {
    const file = fileDb();
    await migrateSqlStorage({ db: file.open() });
    const writer = fileURLToPath(new URL('../helpers/sqlite-writer-process.ts', import.meta.url));
    const perWriter = 200;
    await Promise.all(
      [0, 1, 2].map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(
              process.execPath,
              [
                '--import',
                'tsx',
                writer,
                file.file,
                String(w),
                String(perWriter),
                w === 1 ? 'prepared' : 'kysely',
              ],
              {
                stdio: ['ignore', 'ignore', 'pipe'],
              },
            );
            let stderr = '';
            child.stderr.on('data', (chunk) => {
              stderr += chunk;
            });
            child.on('exit', (code) =>
              code === 0 ? resolve() : reject(new Error(`writer ${w} exited ${code}: ${stderr}`)),
            );
          }),
      ),
    );
    const storage = storageOn(file.open());
    const histories = await Promise.all(
      ['race-0', 'race-1', 'race-2'].map((taskId) => storage.getHistory(taskId, { limit: 10_000 })),
    );
    expect(histories.map((events) => events.map((event) => event.seq))).toEqual(
      histories.map((events) => Array.from({ length: events.length }, (_, i) => i + 1)),
    );
    expect(histories.reduce((sum, events) => sum + events.length, 0)).toBe(3 * perWriter);
  }, 30_000);
});

describe('group commit', () => {
  function countingDb(): { db: AnyKysely; transactions: () => number } {
    let begins = 0;
    const db = new Kysely({
      dialect: new SqliteDialect({ database: new Database(':memory:') }),
      log: (event) => {
        if (event.level === 'query' && event.query.sql === 'begin') begins++;
      },
    });
    cleanups.push(() => db.destroy());
    return { db, transactions: () => begins };
  }

  it('writes 200 concurrent single-event calls in one transaction', async () => {
    const { db, transactions } = countingDb();
    const storage = storageOn(db);
    await storage.migrate();
    const before = transactions();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, n) => storage.appendEvents([progress('t', n + 1)])),
    );
    expect(transactions() - before).toBe(1);
    expect(results.map((result) => seqs(result)[0])).toEqual(Array.from({ length: 200 }, (_, n) => n + 1));
  });

  it('splits the queue into batches of batch.maxEvents', async () => {
    const { db, transactions } = countingDb();
    const storage = storageOn(db, { batch: { maxEvents: 50 } });
    await storage.migrate();
    const before = transactions();
    await Promise.all(Array.from({ length: 200 }, (_, n) => storage.appendEvents([progress('t', n + 1)])));
    expect(transactions() - before).toBe(4);
  });

  it('writes one transaction per call with batch.maxEvents 1', async () => {
    const { db, transactions } = countingDb();
    const storage = storageOn(db, { batch: { maxEvents: 1 } });
    await storage.migrate();
    const before = transactions();
    await Promise.all(Array.from({ length: 10 }, (_, n) => storage.appendEvents([progress('t', n + 1)])));
    expect(transactions() - before).toBe(10);
  });

  /** A new in-memory database that records the text of every statement it runs. */
  function statementLog(): { db: AnyKysely; statements: string[] } {
    const statements: string[] = [];
    const db = new Kysely({
      dialect: new SqliteDialect({ database: new Database(':memory:') }),
      log: (event) => {
        if (event.level === 'query') statements.push(event.query.sql);
      },
    });
    cleanups.push(() => db.destroy());
    return { db, statements };
  }

  const firstWords = (statements: readonly string[]) =>
    statements.map((text) => text.trim().split(/\s/)[0]!.toUpperCase());

  it('runs the same eight statements, word for word, for a batch of 500 events as for one of 5', async () => {
    const { db, statements } = statementLog();
    const storage = storageOn(db, { retention: { maxEventsPerTask: 2 } });
    const batch = (from: number, count: number) =>
      Array.from({ length: count }, (_, n) => progress(`task-${n % 100}`, from + n));
    await storage.appendEvents(batch(1, 500));
    statements.length = 0;
    await storage.appendEvents(batch(501, 500));
    const large = statements.splice(0);
    const results = await storage.appendEvents(batch(1001, 5));
    // Lock, stamp, history, snapshots, trim, stamp: the task rows are not read back (known snapshots).
    expect(firstWords(large)).toEqual([
      'BEGIN',
      'UPDATE',
      'SELECT',
      'INSERT',
      'INSERT',
      'DELETE',
      'SELECT',
      'COMMIT',
    ]);
    expect(statements).toEqual(large);
    expect(seqs(results)).toEqual([11, 11, 11, 11, 11]);
    const kept = await storage.getHistory('task-3', { limit: 10, afterSeq: 0 });
    expect(kept.map((event) => [event.seq, event.payload])).toEqual([
      [10, expect.objectContaining({ message: 'event 904' })],
      [11, expect.objectContaining({ message: 'event 1004' })],
    ]);
  });

  it('writes one call of 2,500 events of new tasks whole, 1,000 rows per statement', async () => {
    const { db, statements } = statementLog();
    const storage = storageOn(db);
    await storage.migrate();
    statements.length = 0;
    const results = await storage.appendEvents(
      Array.from({ length: 2500 }, (_, n) => progress(`task-${n}`, n + 1)),
    );
    expect(seqs(results)).toEqual(Array.from({ length: 2500 }, () => 1));
    // Lock and stamp, read the task rows, then history and snapshots: three statements each.
    const read = ['SELECT', 'SELECT', 'SELECT'];
    const writes = ['INSERT', 'INSERT', 'INSERT', 'INSERT', 'INSERT', 'INSERT'];
    expect(firstWords(statements)).toEqual([
      'BEGIN',
      'UPDATE',
      'SELECT',
      ...read,
      ...writes,
      'SELECT',
      'COMMIT',
    ]);
    expect((await storage.getStats()).totalTasks).toBe(2500);
    expect((await storage.getHistory('task-2499', { limit: 10 })).map((event) => event.payload)).toEqual([
      expect.objectContaining({ message: 'event 2500', completed_steps: 2500 }),
    ]);
  });

  it('commits pending appends on close, then refuses new ones with CLOSED', async () => {
    const file = fileDb();
    const storage = createSqlStorage({ db: file.open(), batch: { maxDelayMs: 1000 } });
    const pending = storage.appendEvents([progress('t', 1)]);
    await storage.close();
    expect(seqs(await pending)).toEqual([1]);
    await expect(storage.appendEvents([progress('t', 2)])).rejects.toMatchObject({ code: 'CLOSED' });
    expect((await storageOn(file.open()).getSnapshot('t'))?.seq).toBe(1);
  });

  it('rejects a failed batch with StorageError and writes later batches once the database is back', async () => {
    const db = memoryDb();
    const storage = storageOn(db);
    await storage.appendEvents([progress('t', 1)]);
    // Take the history table away, as an outage would.
    await sql`ALTER TABLE rp_progress_history RENAME TO rp_away`.execute(db);
    const failed = await storage.appendEvents([progress('t', 2)]).catch((error: unknown) => error);
    expect(isProgressError(failed) && [failed.name, failed.code]).toEqual([
      'StorageError',
      'STORAGE_UNAVAILABLE',
    ]);
    await sql`ALTER TABLE rp_away RENAME TO rp_progress_history`.execute(db);
    // The failed batch took no seq.
    expect(seqs(await storage.appendEvents([progress('t', 3)]))).toEqual([2]);
  });
});

/**
 * A SQLite connection for one of the two append paths, counting the task rows that appends read
 * back: through Kysely's log (one JSON list of ids per statement) or through the prepared
 * statement's `get` (one id per call).
 */
interface AppendPath {
  readonly name: string;
  open(file?: string): { db: AnyKysely; options: Partial<SqlStorageOptions>; reads: string[] };
}

const TASK_READ = /^\s*SELECT \* FROM "rp_tasks"/;

const APPEND_PATHS: readonly AppendPath[] = [
  {
    name: 'Kysely statements',
    open(file = ':memory:') {
      const reads: string[] = [];
      const database = new Database(file);
      if (file !== ':memory:') database.pragma('journal_mode = WAL');
      const db = new Kysely({
        dialect: new SqliteDialect({ database }),
        log: (event) => {
          if (event.level === 'query' && TASK_READ.test(event.query.sql))
            reads.push(...(JSON.parse(String(event.query.parameters[0])) as string[]));
        },
      });
      cleanups.push(() => db.destroy());
      return { db, options: {}, reads };
    },
  },
  {
    name: 'prepared statements (sqliteDatabase)',
    open(file = ':memory:') {
      const reads: string[] = [];
      const { db, database } = sqliteConnection(file);
      cleanups.push(() => db.destroy());
      const counting: SqliteDatabaseHandle = {
        prepare(source) {
          const statement = database.prepare(source);
          if (!TASK_READ.test(source)) return statement;
          return {
            run: (...params: unknown[]) => statement.run(...params),
            get: (...params: unknown[]) => {
              reads.push(String(params[0]));
              return statement.get(...params);
            },
          };
        },
        get inTransaction() {
          return database.inTransaction;
        },
      };
      return { db, options: { sqliteDatabase: counting }, reads };
    },
  },
];

describe.each(APPEND_PATHS)(
  'known snapshots, $name: task rows read back only when something else wrote',
  (path) => {
    it('reads only the tasks it has not written itself', async () => {
      const { db, options, reads } = path.open();
      const storage = storageOn(db, options);
      await storage.migrate();
      expect(seqs(await storage.appendEvents([progress('a', 1), progress('b', 2)]))).toEqual([1, 1]);
      expect(seqs(await storage.appendEvents([progress('a', 3), progress('b', 4)]))).toEqual([2, 2]);
      expect(seqs(await storage.appendEvents([progress('a', 5), progress('c', 6)]))).toEqual([3, 1]);
      expect(reads).toEqual(['a', 'b', 'c']);
    });

    it('reads them again after a write on the same connection: another adapter, the host, its own sessions', async () => {
      const { db, options, reads } = path.open();
      const first = storageOn(db, options);
      const second = storageOn(db, options);
      await first.migrate();
      expect(seqs(await first.appendEvents([progress('t', 1)]))).toEqual([1]);
      expect(seqs(await second.appendEvents([progress('t', 2)]))).toEqual([2]);
      expect(seqs(await first.appendEvents([progress('t', 3)]))).toEqual([3]);
      await sql`CREATE TABLE host_table (x integer)`.execute(db);
      await sql`INSERT INTO host_table VALUES (1)`.execute(db);
      expect(seqs(await first.appendEvents([progress('t', 4)]))).toEqual([4]);
      await first.saveSession({
        clientId: 'c1',
        userId: 'u',
        projectId: 'p',
        subscriptions: { t: 4 },
        lastActiveAtMs: T0,
        expiresAtMs: T0 + 60_000,
      });
      expect(seqs(await first.appendEvents([progress('t', 5)]))).toEqual([5]);
      expect(seqs(await first.appendEvents([progress('t', 6)]))).toEqual([6]);
      // One read per batch that followed someone else's write; none for the last one.
      expect(reads).toEqual(['t', 't', 't', 't', 't']);
      const history = await first.getHistory('t', { limit: 10 });
      expect(history.map((event) => [event.seq, event.payload])).toEqual(
        [1, 2, 3, 4, 5, 6].map((n) => [n, expect.objectContaining({ message: `event ${n}` })]),
      );
    });

    it("reads them again after another connection's commit, so seqs stay gapless", async () => {
      const file = fileDb();
      const first = path.open(file.file);
      const second = path.open(file.file);
      const one = storageOn(first.db, first.options);
      const other = storageOn(second.db, second.options);
      await one.migrate();
      const order = [one, other, one, one, other, other, one];
      for (const [index, storage] of order.entries()) {
        expect(seqs(await storage.appendEvents([progress('t', index + 1)]))).toEqual([index + 1]);
      }
      const snapshot = await other.getSnapshot('t');
      expect([snapshot?.seq, snapshot?.state.message]).toEqual([7, 'event 7']);
      // Each adapter read the row back on every batch after a batch of the other one.
      expect([first.reads, second.reads]).toEqual([
        ['t', 't', 't'],
        ['t', 't'],
      ]);
    });

    it('keeps a snapshot a failed batch did not change, and the failed batch takes no seq', async () => {
      const { db, options, reads } = path.open();
      const storage = storageOn(db, options);
      expect(seqs(await storage.appendEvents([progress('t', 1)]))).toEqual([1]);
      // A batch that fails after its lock: the history table is gone.
      await sql`ALTER TABLE rp_progress_history RENAME TO rp_away`.execute(db);
      await expect(storage.appendEvents([progress('t', 2)])).rejects.toMatchObject({
        code: 'STORAGE_UNAVAILABLE',
      });
      await sql`ALTER TABLE rp_away RENAME TO rp_progress_history`.execute(db);
      expect(seqs(await storage.appendEvents([progress('t', 3)]))).toEqual([2]);
      expect((await storage.getSnapshot('t'))?.state.message).toBe('event 3');
      expect(reads).toEqual(['t']);
    });
  },
);

describe('sqliteDatabase', () => {
  it('refuses a database that is not the one behind db, naming the option, and stores nothing', async () => {
    const db = memoryDb();
    const other = new Database(':memory:');
    cleanups.push(() => other.close());
    const storage = storageOn(db, { sqliteDatabase: other });
    const failed = await storage.appendEvents([progress('t', 1)]).catch((error: unknown) => error);
    expect(isProgressError(failed) && failed.code).toBe('STORAGE_UNAVAILABLE');
    expect((failed as Error).message).toMatch(/sqliteDatabase is not the better-sqlite3 database behind db/);
    expect(await storage.getSnapshot('t')).toBeNull();
  });

  it('is refused at construction on PostgreSQL and MySQL', () => {
    const database = new Database(':memory:');
    cleanups.push(() => database.close());
    for (const dialect of ['postgres', 'mysql'] as const) {
      expect(() => createSqlStorage({ db: memoryDb(), dialect, sqliteDatabase: database })).toThrow(
        /sqliteDatabase is for SQLite only/,
      );
    }
  });
});

describe('validation before the database', () => {
  const refusal = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    return isProgressError(error) ? [error.name, error.code] : error;
  };

  it('refuses a message longer than its 500-character column', async () => {
    const storage = storageOn(memoryDb());
    expect(await refusal(storage.appendEvents([progress('t', 1, 'm'.repeat(501))]))).toEqual([
      'ProgressValidationError',
      'VALIDATION_FAILED',
    ]);
    expect(await storage.getSnapshot('t')).toBe(null);
  });

  it('accepts a message of exactly 500 characters, counted as code points', async () => {
    const storage = storageOn(memoryDb());
    const message = '🚀'.repeat(500);
    await storage.appendEvents([progress('t', 1, message)]);
    expect((await storage.getSnapshot('t'))?.state.message).toBe(message);
  });

  it('refuses a task id over 100 characters, NUL characters and lone surrogates', async () => {
    const storage = storageOn(memoryDb());
    expect(
      await Promise.all([
        refusal(storage.appendEvents([progress('x'.repeat(101), 1)])),
        refusal(storage.appendEvents([progress('nul\u0000', 1)])),
        refusal(storage.appendEvents([progress('t', 1, 'half \ud800')])),
      ]),
    ).toEqual([
      ['ProgressValidationError', 'VALIDATION_FAILED'],
      ['ProgressValidationError', 'VALIDATION_FAILED'],
      ['ProgressValidationError', 'VALIDATION_FAILED'],
    ]);
  });

  it("refuses one caller's bad event without failing the other callers of its batch", async () => {
    const storage = storageOn(memoryDb());
    const [good, bad] = await Promise.allSettled([
      storage.appendEvents([progress('t', 1)]),
      storage.appendEvents([progress('t', 2, 'm'.repeat(600))]),
    ]);
    expect([good.status, bad.status]).toEqual(['fulfilled', 'rejected']);
    expect((await storage.getHistory('t', { limit: 10 })).map((event) => event.seq)).toEqual([1]);
  });

  it('refuses a user agent over 500 and an IP address over 50 characters', async () => {
    const storage = storageOn(memoryDb());
    const record = {
      clientId: 'c',
      userId: 'u',
      projectId: 'p',
      connectedAtMs: T0,
      disconnectedAtMs: null,
      lastActiveAtMs: T0,
      messageCount: 0,
      ipAddress: '1'.repeat(51),
      userAgent: 'a'.repeat(501),
    };
    const error = await storage.recordConnection(record).catch((thrown: unknown) => thrown);
    expect(isProgressError(error) && (error as { issues?: readonly string[] }).issues?.length).toBe(2);
    expect(await storage.getConnection('c')).toBe(null);
  });

  it('finds nothing (and does not throw) for lookups by an id that could never be stored', async () => {
    const storage = storageOn(memoryDb());
    expect([
      await storage.getSnapshot('x'.repeat(200)),
      await storage.getSession('nul\u0000', T0),
      await storage.getHistory('\ud800', { limit: 5 }),
    ]).toEqual([null, null, []]);
  });
});
