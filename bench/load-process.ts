/**
 * The load generator: one process holding every client of a run (thousands of sockets on one
 * event loop), recording delivery latency from the send time embedded in each event, and
 * acknowledging deliveries to the server's closed-loop publisher (over the ack channel).
 * Usage (by the driver): node --import tsx bench/load-process.ts <system>
 */
import { connectAcks } from './lib/ack-channel.js';
import { RAW_CLIENT_ENV } from './lib/args.js';
import { nowMs, sleep } from './lib/clock.js';
import type { LoadCommands } from './lib/commands.js';
import { createProfiler } from './lib/profiler.js';
import { notifyParent, serve } from './lib/rpc.js';
import { LatencyHistogram } from './lib/stats.js';
import { createStormWatch } from './lib/storm-watch.js';
import { type BenchClient, type ConnectClient, PROGRESS_PATH, type SystemName } from './systems/types.js';
import { taskId } from './systems/wire.js';

const CLIENTS: Record<SystemName, () => Promise<ConnectClient>> = {
  'raw-ws': async () => (await import('./systems/raw-ws/client.js')).connectClient,
  'realtime-progress': async () =>
    process.env[RAW_CLIENT_ENV] === '1'
      ? (await import('./systems/raw-ws/client.js')).rawClientFor(PROGRESS_PATH)
      : (await import('./systems/realtime-progress/client.js')).connectClient,
  socketio: async () => (await import('./systems/socketio/client.js')).connectClient,
};

/** Deliveries between two acks; with the 5 ms timer below it bounds how stale the server's view is. */
const ACK_EVERY = 200;
const ACK_INTERVAL_MS = 5;

const connect = await CLIENTS[process.argv[2] as SystemName]();
const clients: BenchClient[] = [];
const latency = new LatencyHistogram();
const storm = createStormWatch();
const profiler = createProfiler();
let delivered = 0;
let deliveredAtMark = 0;
let acked = 0;
let acks: Awaited<ReturnType<typeof connectAcks>> | undefined;

const sendAck = (): void => {
  if (acks === undefined) return;
  acked = delivered;
  acks.send(delivered);
};
setInterval(() => {
  if (delivered !== acked) sendAck();
}, ACK_INTERVAL_MS);

function hooksFor(index: number): Parameters<ConnectClient>[0]['hooks'] {
  return {
    event(sentAtMs) {
      const now = nowMs();
      delivered++;
      latency.record(now - sentAtMs);
      storm.event(index, sentAtMs, now);
      if (delivered - acked >= ACK_EVERY) sendAck();
    },
    restored: () => storm.restored(index, nowMs()),
  };
}

serve<LoadCommands>({
  async connect({ port, count, tasks, concurrency, reconnect }) {
    const startMs = nowMs();
    const setup = new LatencyHistogram();
    let failed = 0;
    let nextIndex = clients.length;
    const end = clients.length + count;
    const worker = async (): Promise<void> => {
      while (nextIndex < end) {
        const index = nextIndex++;
        const t0 = nowMs();
        try {
          const client = await connect({ port, hooks: hooksFor(index), reconnect });
          clients[index] = client;
          await client.subscribe(taskId(index % tasks));
          setup.record(nowMs() - t0);
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    const { p50Ms, p99Ms } = setup.summary();
    return { ms: nowMs() - startMs, failed, connectP50Ms: p50Ms, connectP99Ms: p99Ms };
  },
  async ackTo({ port }) {
    acks?.close();
    acks = await connectAcks(port);
    acked = delivered;
    acks.send(delivered);
    return null;
  },
  mark() {
    const summary = latency.summary();
    latency.reset();
    const since = delivered - deliveredAtMark;
    deliveredAtMark = delivered;
    const { user, system } = process.cpuUsage();
    return { ...summary, atMs: nowMs(), delivered: since, total: delivered, cpuUs: user + system };
  },
  async waitDelivered({ count, timeoutMs }) {
    const deadline = nowMs() + timeoutMs;
    while (delivered - deliveredAtMark < count && nowMs() < deadline) await sleep(2);
    return { delivered: delivered - deliveredAtMark };
  },
  armStorm: () => ({ armedAtMs: storm.arm(clients.length) }),
  waitStorm: (args) => storm.wait(args),
  profileStart: () => profiler.start(),
  profileStop: ({ path }) => profiler.stop(path),
  exit() {
    for (const client of clients) client?.close();
    return null;
  },
});
notifyParent('ready', {});
