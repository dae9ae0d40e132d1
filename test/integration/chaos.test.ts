/**
 * Chaos: 200 clients, each following 10 of 20 tasks, through a TCP proxy that cuts random
 * connections every few hundred milliseconds (and now and then the whole network, or turns it
 * into a black hole) while 5,000 events are published. Every client must end with exactly seq
 * 1..N, in order, for every task it follows, nothing of the others, and the terminal status.
 * The randomness has a fixed seed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgressClient } from '../../src/client/index.js';
import { createMemoryStorage } from '../../src/server/index.js';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitUntil } from '../helpers/wait.js';

const SEED = 0x5eed_2024;
const CLIENTS = 200;
const TASKS = 20;
/** Tasks each client follows, picked at random: every task ends up with about 100 followers. */
const TASKS_PER_CLIENT = 10;
const EVENTS = 5_000;
const EVENTS_PER_TASK = EVENTS / TASKS;
const TERMINAL = ['completed', 'failed', 'cancelled'] as const;
/** Events published between two pauses; the pauses let the cuts land mid-stream. */
const CHUNK = 25;
/** Upper bound of chaos actions, whatever the timing. */
const MAX_CHAOS_ACTIONS = 500;

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const taskName = (i: number) => `chaos-${i}`;

let t: TestServer;
let proxy: TcpProxy;
const clients: ProgressClient[] = [];

beforeAll(async () => {
  t = await startServer(
    { heartbeat: { intervalMs: 2_000 }, sessionTtlMs: 120_000 },
    createMemoryStorage({ retention: { maxEventsPerTask: 10_000 } }),
  );
  proxy = await startTcpProxy(t.port);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await proxy.close();
  await t.close();
});

describe('chaos', () => {
  it(`${CLIENTS} clients, ${TASKS_PER_CLIENT} of ${TASKS} tasks each, see exactly seq 1..N and the terminal status while connections are cut`, async () => {
    // One stream per purpose, so that the plan and the chaos schedule do not depend on timing.
    const random = prng(SEED);
    const chaosRandom = prng(SEED + 1);
    const victimRandom = prng(SEED + 2);

    // What each client's app saw: task -> seqs of task events, and the terminal status.
    const seen = Array.from({ length: CLIENTS }, () => new Map<string, number[]>());
    const done = Array.from({ length: CLIENTS }, () => new Map<string, string>());
    const follows = Array.from({ length: CLIENTS }, () => {
      const picked = new Set<number>();
      while (picked.size < TASKS_PER_CLIENT) picked.add(Math.floor(random() * TASKS));
      return [...picked].sort((a, b) => a - b);
    });
    const acknowledged = new Set<string>();
    let reconnects = 0;
    let coalesced = 0;
    let recoveries = 0;
    for (let c = 0; c < CLIENTS; c++) {
      const client = new ProgressClient({
        url: `ws://127.0.0.1:${proxy.port}/api/v1/ws`,
        userId: `user-${c % 10}`,
        backoff: { initialDelayMs: 25, maxDelayMs: 250 },
        heartbeatIntervalMs: 500,
        heartbeatTimeoutMs: 2_000,
      });
      clients.push(client);
      /** Records `seq`; a coalesced progress (slow consumer, guarantee 3) stands for the seqs it folds. */
      const record = (taskId: string, seq: number, from = seq): void => {
        const list = seen[c]!.get(taskId) ?? [];
        seen[c]!.set(taskId, list);
        for (let folded = Math.max(from, (list.at(-1) ?? 0) + 1); folded < seq; folded++) list.push(folded);
        list.push(seq);
      };
      client.on('progress', (event) => {
        if (event.coalescedFrom !== undefined) coalesced++;
        if (!event.snapshot) record(event.taskId, event.seq, event.coalescedFrom);
      });
      client.on('status', (event) => record(event.taskId, event.seq));
      client.on('error', (event) => {
        if (event.source === 'task') record(event.taskId, event.seq);
      });
      client.on('complete', (event) => done[c]!.set(event.taskId, event.status));
      client.on('subscribed', ({ taskId }) => acknowledged.add(`${c}/${taskId}`));
      client.on('reconnected', () => reconnects++);
      client.on('recovery', () => recoveries++);
      for (const task of follows[c]!) client.subscribe(taskName(task));
    }
    await waitUntil(
      () => acknowledged.size === CLIENTS * TASKS_PER_CLIENT,
      20_000,
      'every subscription acknowledged',
    );

    // The publishing plan: per task, progress with an error report every 50th event and a
    // terminal status last; tasks interleaved at random.
    const remaining = Array.from({ length: TASKS }, () => EVENTS_PER_TASK);
    const plan: Array<{ task: number; index: number }> = [];
    while (plan.length < EVENTS) {
      const open = remaining.flatMap((left, task) => (left > 0 ? [task] : []));
      const task = open[Math.floor(random() * open.length)]!;
      plan.push({ task, index: EVENTS_PER_TASK - remaining[task]! });
      remaining[task]!--;
    }

    const startedAt = Date.now();
    let publishing = true;
    let cuts = 0;
    const chaos = (async () => {
      for (let action = 0; action < MAX_CHAOS_ACTIONS && publishing; action++) {
        await pause(100 + Math.floor(chaosRandom() * 300));
        const roll = chaosRandom();
        if (roll < 0.1) {
          proxy.down();
          await pause(50 + Math.floor(chaosRandom() * 150));
          proxy.restore();
        } else if (roll < 0.15) {
          proxy.blackhole();
          await pause(300);
          proxy.restore();
        } else {
          const share = 0.1 + chaosRandom() * 0.3;
          cuts += proxy.cut(() => victimRandom() < share);
        }
      }
    })();

    for (let i = 0; i < plan.length; i++) {
      const { task, index } = plan[i]!;
      const taskId = taskName(task);
      if (index === EVENTS_PER_TASK - 1) {
        await t.server.setStatus(taskId, TERMINAL[task % TERMINAL.length]!);
      } else if (index % 50 === 49) {
        await t.server.reportError(taskId, { stepId: `step-${index}`, error: 'transient' });
      } else {
        await t.server.publish(taskId, {
          progress: Math.floor((index / EVENTS_PER_TASK) * 100),
          message: `#${index}`,
        });
      }
      if (i % CHUNK === CHUNK - 1) await pause(10);
    }
    publishing = false;
    await chaos;
    proxy.restore();
    const publishedAt = Date.now();

    const finished = (): boolean => done.every((statuses) => statuses.size === TASKS_PER_CLIENT);
    await waitUntil(finished, 40_000, 'every client to see every task finish');

    const expectedSeqs = Array.from({ length: EVENTS_PER_TASK }, (_, i) => i + 1);
    const actual: Record<string, { seqs: number[]; status: string | undefined }> = {};
    const expected: typeof actual = {};
    for (let c = 0; c < CLIENTS; c++) {
      // Every task the client saw anything of, so that events of tasks it does not follow show up too.
      const tasks = new Set([...follows[c]!.map(taskName), ...seen[c]!.keys(), ...done[c]!.keys()]);
      for (const taskId of tasks) {
        actual[`${c}/${taskId}`] = { seqs: seen[c]!.get(taskId) ?? [], status: done[c]!.get(taskId) };
      }
      for (const task of follows[c]!) {
        expected[`${c}/${taskName(task)}`] = { seqs: expectedSeqs, status: TERMINAL[task % TERMINAL.length] };
      }
    }
    console.info(
      `chaos: ${CLIENTS} clients x ${TASKS_PER_CLIENT} of ${TASKS} tasks, ${EVENTS} events, ${cuts} connections cut, ${reconnects} reconnects, ` +
        `${recoveries} partial recoveries, ${coalesced} coalesced progress events; published in ${publishedAt - startedAt} ms, converged ${Date.now() - publishedAt} ms later`,
    );
    expect(actual).toEqual(expected);
    expect(recoveries).toBe(0);
    expect(reconnects).toBeGreaterThan(CLIENTS / 2);
  }, 60_000);
});
