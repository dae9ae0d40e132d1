/**
 * Multi-node cost on one machine: delivered events/s and end-to-end latency of
 * 1 node (local bus) versus 2 nodes + Redis bus, both on PostgreSQL storage.
 *
 *   npx tsx bench/multi-node.ts            (about a minute; needs PostgreSQL and Redis)
 *
 * Node 0 publishes in both setups (`server.publish`, which stores the event, then puts it on
 * the bus). Clients (raw `ws`, `batch=1`, in this process) follow TASKS tasks each; with two
 * nodes they are split evenly, so half of every event's deliveries cross Redis. Two phases
 * per setup: a flood (PUBLISH_CONCURRENCY publishes in flight, for throughput) and a fixed
 * rate (for latency: publish() call in node 0 to frame received here, both clocks
 * `performance.timeOrigin + performance.now()` on this machine).
 *
 * The same file is the node process: `bench/multi-node.ts --node` (driven over IPC).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import WebSocket from 'ws';
import { createRedisBus } from '../src/adapters/bus/redis-index.js';
import { createSqlStorage, migrateSqlStorage, sqlTableNames } from '../src/adapters/storage/sql/index.js';
import { createProgressServer } from '../src/server/index.js';
import { nowMs, sleep } from './lib/clock.js';

const TASKS = 20;
const CLIENTS = 100;
/** Tasks each client follows: every event goes to CLIENTS * TASKS_PER_CLIENT / TASKS clients. */
const TASKS_PER_CLIENT = 5;
const PUBLISH_CONCURRENCY = 64;
const FLOOD_MS = 10_000;
const RATE_EVENTS_PER_S = 200;
const RATE_MS = 8_000;
const WARMUP_MS = 1_000;
const PG = {
  host: '127.0.0.1',
  port: 5432,
  user: process.env.PGUSER ?? 'postgres',
  database: process.env.PGDATABASE ?? 'test',
};
const REDIS = { host: '127.0.0.1', port: 6379 };

type NodeCommand =
  | { cmd: 'flood'; durationMs: number; concurrency: number }
  | { cmd: 'rate'; durationMs: number; perSecond: number };

if (process.argv.includes('--node')) await runNode();
else await runBench();

// --- node process --------------------------------------------------------------------------

async function runNode(): Promise<void> {
  const pool = new pg.Pool({ ...PG, max: 4 });
  const db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  const storage = createSqlStorage({ db, tablePrefix: env('TABLE_PREFIX'), migrate: false });
  const redis = env('BUS') === 'redis';
  const publisher = redis ? new Redis(REDIS) : undefined;
  const subscriber = publisher?.duplicate();
  const bus =
    publisher && subscriber
      ? createRedisBus({ publisher, subscriber, keyPrefix: env('KEY_PREFIX') })
      : undefined;
  const httpServer = http.createServer();
  const server = createProgressServer(httpServer, storage, {
    ...(bus === undefined ? {} : { bus }),
    heartbeat: { intervalMs: 0 },
    cleanupIntervalMs: 0,
  });
  httpServer.listen(0, '127.0.0.1');
  await once(httpServer, 'listening');
  let n = 0;
  const publishOne = () =>
    server.publish(`task-${n % TASKS}`, { progress: n++ % 100, metadata: { t: nowMs() } }).then(
      () => 1,
      () => 0,
    );
  process.on('message', async (command: NodeCommand) => {
    const endAt = nowMs() + command.durationMs;
    let published = 0;
    if (command.cmd === 'flood') {
      await Promise.all(
        Array.from({ length: command.concurrency }, async () => {
          while (nowMs() < endAt) {
            // Not `published += await ...`: that reads `published` before the await.
            const stored = await publishOne();
            published += stored;
          }
        }),
      );
    } else {
      const started = nowMs();
      const pending: Promise<number>[] = [];
      for (let i = 0; nowMs() < endAt; i++) {
        const due = started + (i * 1_000) / command.perSecond;
        if (due > nowMs()) await sleep(due - nowMs());
        pending.push(publishOne());
      }
      published = (await Promise.all(pending)).reduce((a, b) => a + b, 0);
    }
    process.send?.({ type: 'done', published });
  });
  process.send?.({ type: 'ready', port: (httpServer.address() as AddressInfo).port });
}

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

// --- driver --------------------------------------------------------------------------------

interface Setup {
  readonly label: string;
  readonly nodes: number;
  readonly bus: 'local' | 'redis';
}

interface Result {
  readonly label: string;
  readonly eventsPerSecond: number;
  readonly deliveredPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly rateDelivered: number;
  readonly rateExpected: number;
}

async function runBench(): Promise<void> {
  const tablePrefix = `rp_bench_${process.pid.toString(36)}_`;
  const keyPrefix = `rpbench:${process.pid.toString(36)}:`;
  const admin = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ ...PG, max: 1 }) }),
  });
  await migrateSqlStorage({ db: admin, tablePrefix });
  const setups: Setup[] = [
    { label: '1 node, local bus', nodes: 1, bus: 'local' },
    { label: '2 nodes + Redis bus', nodes: 2, bus: 'redis' },
  ];
  const results: Result[] = [];
  try {
    for (const setup of setups) results.push(await measure(setup, tablePrefix, keyPrefix));
  } finally {
    for (const table of Object.values(sqlTableNames(tablePrefix))) {
      await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(admin);
    }
    await admin.destroy();
  }
  const fanOut = (CLIENTS * TASKS_PER_CLIENT) / TASKS;
  console.log(
    `\n${CLIENTS} clients x ${TASKS_PER_CLIENT} of ${TASKS} tasks (fan-out ${fanOut}); flood ${FLOOD_MS / 1_000}s with ${PUBLISH_CONCURRENCY} publishes in flight; latency at ${RATE_EVENTS_PER_S} events/s for ${RATE_MS / 1_000}s; PostgreSQL storage; one machine.\n`,
  );
  console.log(
    '| setup | published events/s | delivered events/s | p50 ms | p99 ms | delivered at fixed rate |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| ${r.label} | ${r.eventsPerSecond.toFixed(0)} | ${r.deliveredPerSecond.toFixed(0)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.rateDelivered}/${r.rateExpected} |`,
    );
  }
  const [one, two] = results as [Result, Result];
  console.log(
    `\nratio 2 nodes / 1 node: delivered events/s x${(two.deliveredPerSecond / one.deliveredPerSecond).toFixed(2)}, p99 latency x${(two.p99Ms / one.p99Ms).toFixed(2)}`,
  );
}

async function measure(setup: Setup, tablePrefix: string, keyPrefix: string): Promise<Result> {
  console.error(`[${setup.label}] starting ${setup.nodes} node(s)`);
  const children: ChildProcess[] = [];
  const sockets: WebSocket[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < setup.nodes; i++) {
      const child = fork(fileURLToPath(import.meta.url), ['--node'], {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, TABLE_PREFIX: tablePrefix, KEY_PREFIX: keyPrefix, BUS: setup.bus },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      const [ready] = (await once(child, 'message')) as [{ port: number }];
      ports.push(ready.port);
    }
    let delivered = 0;
    let latencies: number[] | undefined;
    for (let i = 0; i < CLIENTS; i++) {
      const port = ports[i % ports.length];
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws?user_id=bench-${i}&batch=1`, {
        perMessageDeflate: false,
      });
      sockets.push(ws);
      await once(ws, 'open');
      for (let k = 0; k < TASKS_PER_CLIENT; k++) {
        ws.send(JSON.stringify({ action: 'subscribe', task_id: `task-${(i + k) % TASKS}` }));
      }
      ws.on('message', (data: Buffer) => {
        const text = data.toString();
        const now = nowMs();
        for (const match of text.matchAll(/"t":([\d.]+)\}/g)) {
          delivered += 1;
          latencies?.push(now - Number(match[1]));
        }
      });
    }
    await sleep(500); // subscriptions settle (each answers once; nothing is published yet)
    const publisherNode = children[0]!;
    const run = async (command: NodeCommand): Promise<number> => {
      publisherNode.send(command);
      const [done] = (await once(publisherNode, 'message')) as [{ published: number }];
      return done.published;
    };

    await run({ cmd: 'flood', durationMs: WARMUP_MS, concurrency: PUBLISH_CONCURRENCY });
    await sleep(300);
    const before = delivered;
    const floodStart = nowMs();
    const published = await run({ cmd: 'flood', durationMs: FLOOD_MS, concurrency: PUBLISH_CONCURRENCY });
    const floodSeconds = (nowMs() - floodStart) / 1_000;
    const deliveredPerSecond = (delivered - before) / floodSeconds;
    await sleep(1_000); // drain

    latencies = [];
    const rateBefore = delivered;
    const ratePublished = await run({ cmd: 'rate', durationMs: RATE_MS, perSecond: RATE_EVENTS_PER_S });
    await sleep(1_000);
    const fanOut = (CLIENTS * TASKS_PER_CLIENT) / TASKS;
    const sorted = latencies.sort((a, b) => a - b);
    const pct = (p: number): number =>
      sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
    const result: Result = {
      label: setup.label,
      eventsPerSecond: published / floodSeconds,
      deliveredPerSecond,
      p50Ms: pct(0.5),
      p99Ms: pct(0.99),
      rateDelivered: delivered - rateBefore,
      rateExpected: ratePublished * fanOut,
    };
    console.error(`[${setup.label}] ${JSON.stringify(result)}`);
    return result;
  } finally {
    for (const ws of sockets) ws.terminate();
    for (const child of children) child.kill('SIGKILL');
  }
}
