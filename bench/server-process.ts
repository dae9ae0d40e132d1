/**
 * The bench server process: one system's server on 127.0.0.1, driven over IPC. It publishes
 * (closed loop or fixed rate), reports its own CPU time and memory, and can cut every
 * connection at the socket level without closing the server (the reconnect storm).
 * Usage (by the driver): node --expose-gc --import tsx bench/server-process.ts '<json ServerProcessArgs>'
 */
import { createServer as createHttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { writeHeapSnapshot } from 'node:v8';
import { listenForAcks } from './lib/ack-channel.js';
import { nowMs, sleep } from './lib/clock.js';
import type { ServerCommands, ServerProcessArgs } from './lib/commands.js';
import { createProfiler } from './lib/profiler.js';
import { createPublisher } from './lib/publisher.js';
import { notifyParent, serve } from './lib/rpc.js';
import type { CreateSystemServer, SystemName } from './systems/types.js';

const SERVERS: Record<SystemName, () => Promise<CreateSystemServer>> = {
  'raw-ws': async () => (await import('./systems/raw-ws/server.js')).createServer,
  'realtime-progress': async () => (await import('./systems/realtime-progress/server.js')).createServer,
  socketio: async () => (await import('./systems/socketio/server.js')).createServer,
};

/** How long `drop` waits for the system to notice the dead sockets. */
const DROP_NOTICE_TIMEOUT_MS = 5_000;

const { system, config } = JSON.parse(process.argv[2] ?? '{}') as ServerProcessArgs;
const httpServer = createHttpServer();
// Every upgraded socket, so that `drop` can cut them all the way a network failure would.
const sockets = new Set<Duplex>();
httpServer.on('upgrade', (_req, socket: Duplex) => {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
});
const server = await (await SERVERS[system]())(httpServer, config);
const publisher = createPublisher(server);
const gc = (globalThis as { gc?: () => void }).gc;
const profiler = createProfiler();

/** Full collections, several with turns of the loop between: weak callbacks and finalisers run late. */
async function collectGarbage(): Promise<void> {
  if (gc === undefined) throw new Error('run with --expose-gc');
  for (let pass = 0; pass < 3; pass++) {
    gc();
    await sleep(20);
  }
}

const ackPort = await listenForAcks((delivered) => publisher.ack(delivered));

serve<ServerCommands>({
  startClosedLoop: (args) => publisher.startClosedLoop(args),
  startRate: (args) => publisher.startRate(args),
  stopPublishing: () => publisher.stop(),
  publishRound: ({ tasks }) => publisher.publishRound(tasks),
  heapSnapshot: ({ path }) => {
    gc?.();
    writeHeapSnapshot(path);
    return null;
  },
  profileStart: () => profiler.start(),
  profileStop: ({ path }) => profiler.stop(path),
  cpu: () => {
    const { user, system: sys } = process.cpuUsage();
    return { cpuUs: user + sys, atMs: nowMs() };
  },
  async memory() {
    await collectGarbage();
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
    return { rss, heapUsed, external, arrayBuffers };
  },
  async settle() {
    await collectGarbage();
    return null;
  },
  async drop({ tasks }) {
    const dropAtMs = nowMs();
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    const deadline = dropAtMs + DROP_NOTICE_TIMEOUT_MS;
    while (server.clientCount() > 0 && nowMs() < deadline) await sleep(1);
    const noticedMs = nowMs() - dropAtMs;
    // Published while every client is away: a resuming system must replay these.
    await publisher.publishRound(tasks);
    return { dropAtMs, noticedMs };
  },
  async exit() {
    publisher.stop();
    await Promise.race([server.close(), sleep(3_000)]);
    return null;
  },
});

httpServer.listen({ port: 0, host: '127.0.0.1', backlog: 4_096 }, () => {
  const address = httpServer.address();
  notifyParent('ready', {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    ackPort,
  });
});
