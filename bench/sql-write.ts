/**
 * SQL storage write rate: `npx tsx bench/sql-write.ts [sqlite|postgres|mariadb]` (all by default).
 *
 * For SQLite (temp file, WAL), PostgreSQL and MariaDB/MySQL (skipped when unreachable):
 * - batched: group commit (defaults: 500 events, 2 ms), 1,000 concurrent publishers each
 *   awaiting its own appends, 100 tasks, 100,000 events;
 * - unbatched: `batch.maxEvents: 1` (one transaction per event), 100 publishers, fewer events;
 * - latency: an open-loop 5,000 events/s for 3 s (SQLite and PostgreSQL), measured from each
 *   event's scheduled send time, so a stall is not hidden by sending less (coordinated omission);
 * - CPU per event (SQLite, whose database runs in this process): batches of one event per task,
 *   the shape a busy server's batches take, 50,000 events after 10,000 of warm-up.
 * Prints the median of 3 runs. Default retention (100 events per task) applies, so steady-state
 * batches also trim old history, as in production.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { createPool } from 'mysql2';
import pg from 'pg';
import {
  createSqlStorage,
  type SqlBatchOptions,
  type SqlStorageOptions,
  sqlTableNames,
} from '../src/adapters/storage/sql/index.js';
import type { NewTaskEvent } from '../src/adapters/storage/types.js';

const RUNS = 3;
const TASKS = 100;
const BATCHED_EVENTS = 100_000;
const BATCHED_PUBLISHERS = 1_000;
const UNBATCHED_PUBLISHERS = 100;
const LATENCY_RATE_PER_S = 5_000;
const LATENCY_DURATION_MS = 3_000;
const CPU_EVENTS = 50_000;
const CPU_WARMUP_EVENTS = 10_000;

// biome-ignore lint/suspicious/noExplicitAny: the bench has no host schema.
type AnyKysely = Kysely<any>;

interface Target {
  readonly label: string;
  readonly unbatchedEvents: number;
  readonly latency: boolean;
  /** Whether the database runs in this process, so that its CPU time is ours to measure. */
  readonly inProcess: boolean;
  /** A fresh database handle, adapter options for it, and a function that disposes of it (and of any file). */
  open(): { db: AnyKysely; options?: Partial<SqlStorageOptions>; dispose: () => Promise<void> };
  available(): Promise<boolean>;
}

const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });

/** SQLite on a temp file with WAL; `prepared`: with `sqliteDatabase` (statements prepared once). */
const sqliteTarget = (label: string, prepared: boolean): Target => ({
  label,
  unbatchedEvents: 5_000,
  latency: true,
  inProcess: true,
  available: async () => true,
  open() {
    const dir = mkdtempSync(join(tmpdir(), 'rp-bench-'));
    const database = new Database(join(dir, 'bench.db'));
    database.pragma('journal_mode = WAL');
    const db = new Kysely({ dialect: new SqliteDialect({ database }) });
    return {
      db,
      options: prepared ? { sqliteDatabase: database } : {},
      dispose: async () => {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});

const targets: Target[] = [
  sqliteTarget('SQLite (file, WAL)', false),
  sqliteTarget('SQLite (file, WAL, sqliteDatabase)', true),
  {
    label: 'PostgreSQL',
    unbatchedEvents: 3_000,
    latency: true,
    inProcess: false,
    available: () => reachable(5432),
    open() {
      const pool = new pg.Pool({
        host: '127.0.0.1',
        user: process.env.PGUSER ?? 'postgres',
        database: 'test',
        max: 10,
      });
      pool.on('error', () => {});
      const db = new Kysely({ dialect: new PostgresDialect({ pool }) });
      return { db, dispose: () => db.destroy() };
    },
  },
  {
    label: 'MariaDB',
    unbatchedEvents: 2_000,
    latency: false,
    inProcess: false,
    available: () => reachable(3306),
    open() {
      const pool = createPool({
        host: '127.0.0.1',
        user: 'root',
        password: '',
        database: 'test',
        connectionLimit: 10,
      });
      const db = new Kysely({ dialect: new MysqlDialect({ pool }) });
      return { db, dispose: () => db.destroy() };
    },
  },
];

const event = (n: number): NewTaskEvent => ({
  taskId: `bench-task-${n % TASKS}`,
  type: 'progress',
  timestampMs: Date.now(),
  data: {
    progress: n % 101,
    current_step: `step ${n}`,
    total_steps: 1000,
    completed_steps: n % 1000,
    message: 'processing records',
    metadata: { n, source: 'bench' },
  },
});

/** Runs `fn` on fresh tables, then drops them. */
async function withStorage<T>(
  target: Target,
  batch: SqlBatchOptions,
  fn: (storage: ReturnType<typeof createSqlStorage>) => Promise<T>,
): Promise<T> {
  const { db, options, dispose } = target.open();
  const prefix = `rp_bench_${Math.random().toString(36).slice(2, 8)}_`;
  const storage = createSqlStorage({ ...options, db, tablePrefix: prefix, batch });
  try {
    await storage.migrate();
    return await fn(storage);
  } finally {
    await storage.close();
    for (const table of Object.values(sqlTableNames(prefix))) {
      await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
    }
    await dispose();
  }
}

/** Closed loop: `publishers` callers, each appending its share one event at a time. Events/s. */
async function throughput(
  target: Target,
  batch: SqlBatchOptions,
  events: number,
  publishers: number,
): Promise<number> {
  return withStorage(target, batch, async (storage) => {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: publishers }, async () => {
        while (next < events) {
          const results = await storage.appendEvents([event(next++)]);
          if (!results[0]?.ok) throw new Error('an event was refused');
        }
      }),
    );
    return events / ((performance.now() - started) / 1000);
  });
}

/** Open loop at a fixed rate; returns [p50, p99] latency in ms from each scheduled send time. */
async function latency(target: Target): Promise<[number, number]> {
  return withStorage(target, {}, async (storage) => {
    const total = (LATENCY_RATE_PER_S * LATENCY_DURATION_MS) / 1000;
    const latencies: number[] = [];
    const pending: Promise<void>[] = [];
    const started = performance.now();
    let issued = 0;
    while (issued < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) * LATENCY_RATE_PER_S) / 1000));
      for (; issued < due; issued++) {
        const scheduledAt = started + (issued * 1000) / LATENCY_RATE_PER_S;
        pending.push(
          storage
            .appendEvents([event(issued)])
            .then(() => void latencies.push(performance.now() - scheduledAt)),
        );
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(pending);
    latencies.sort((a, b) => a - b);
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
    return [at(0.5), at(0.99)];
  });
}

/** Process CPU time (us) per appended event, in batches of one event for each of the tasks. */
async function cpuPerEvent(target: Target): Promise<number> {
  return withStorage(target, {}, async (storage) => {
    let next = 0;
    const appendBatches = async (events: number) => {
      for (const end = next + events; next < end; ) {
        await storage.appendEvents(Array.from({ length: TASKS }, () => event(next++)));
      }
    };
    await appendBatches(CPU_WARMUP_EVENTS);
    const before = process.cpuUsage();
    await appendBatches(CPU_EVENTS);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / CPU_EVENTS;
  });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

interface Row {
  batched: number[];
  unbatched: number[];
  p50: number[];
  p99: number[];
  cpu: number[];
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const only = process.argv[2]?.toLowerCase();
  const live: Target[] = [];
  for (const target of targets) {
    if (only !== undefined && !target.label.toLowerCase().startsWith(only)) continue;
    if (await target.available()) live.push(target);
    else console.log(`${target.label}: not reachable, skipped`);
  }
  const rows = new Map<Target, Row>(
    live.map((target) => [target, { batched: [], unbatched: [], p50: [], p99: [], cpu: [] }]),
  );
  for (let run = 1; run <= RUNS; run++) {
    for (const target of live) {
      const row = rows.get(target)!;
      row.batched.push(await throughput(target, {}, BATCHED_EVENTS, BATCHED_PUBLISHERS));
      row.unbatched.push(
        await throughput(target, { maxEvents: 1 }, target.unbatchedEvents, UNBATCHED_PUBLISHERS),
      );
      if (target.latency) {
        const [p50, p99] = await latency(target);
        row.p50.push(p50);
        row.p99.push(p99);
      }
      if (target.inProcess) row.cpu.push(await cpuPerEvent(target));
      console.log(
        `run ${run} ${target.label}: batched ${Math.round(row.batched.at(-1)!)} ev/s, unbatched ${Math.round(row.unbatched.at(-1)!)} ev/s${target.latency ? `, p99 ${row.p99.at(-1)!.toFixed(1)} ms` : ''}${target.inProcess ? `, ${row.cpu.at(-1)!.toFixed(1)} us CPU/event` : ''}`,
      );
    }
  }

  const fmt = (value: number, digits = 0) => (Number.isNaN(value) ? '-' : value.toFixed(digits));
  console.log(
    `\nMedian of ${RUNS} runs (${TASKS} tasks; batched ${BATCHED_EVENTS} events, ${BATCHED_PUBLISHERS} publishers)`,
  );
  console.table(
    live.map((target) => {
      const row = rows.get(target)!;
      return {
        database: target.label,
        'batched ev/s': fmt(median(row.batched)),
        'unbatched ev/s': fmt(median(row.unbatched)),
        'speed-up': `${fmt(median(row.batched) / median(row.unbatched), 1)}x`,
        [`p50 ms @${LATENCY_RATE_PER_S}/s`]: target.latency ? fmt(median(row.p50), 1) : '-',
        [`p99 ms @${LATENCY_RATE_PER_S}/s`]: target.latency ? fmt(median(row.p99), 1) : '-',
        [`CPU us/event (${TASKS}-task batches)`]: target.inProcess ? fmt(median(row.cpu), 1) : '-',
      };
    }),
  );
  console.log(`total ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
}

await main();
