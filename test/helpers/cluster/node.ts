/**
 * One server node of the multi-process tests: `node --import tsx test/helpers/cluster/node.ts`.
 * SQL storage on PostgreSQL, the Redis bus, Redis presence, an `http.Server` on `RP_PORT`
 * (0: any free port). Tells the parent `{ type: 'ready', port }` over IPC; on `{ type: 'close',
 * drainMs? }` closes the progress server (with drain when given), answers `{ type: 'closed' }`
 * and exits.
 *
 * Environment: see `deps.ts`, plus `RP_PORT`, `RP_PRESENCE_TTL_MS` (default 1500) and
 * `RP_SESSION_TTL_MS` (default 120000).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedisPresence } from '../../../src/adapters/bus/redis-index.js';
import { createProgressServer, type ProgressServerOptions } from '../../../src/server/index.js';
import { childDeps, requireEnv, tell } from './deps.js';

const deps = childDeps({ subscribe: true });
const presenceTtlMs = Number(process.env.RP_PRESENCE_TTL_MS ?? 1_500);
const presence = createRedisPresence({
  redis: deps.publisher,
  keyPrefix: requireEnv('RP_KEY_PREFIX'),
  ttlMs: presenceTtlMs,
  reportDelayMs: 20,
});

// `presence` is the server option that makes `/websocket/stats` and `/progress/active`
// cluster-wide (docs/scaling.md). Passed through a variable so this file compiles before the
// server has the option; until then the server ignores it.
const options: ProgressServerOptions & { presence?: unknown } = {
  bus: deps.bus,
  presence,
  heartbeat: { intervalMs: 0 },
  sessionTtlMs: Number(process.env.RP_SESSION_TTL_MS ?? 120_000),
  cleanupIntervalMs: 0,
};

const httpServer = http.createServer();
const server = createProgressServer(httpServer, deps.storage, options);
httpServer.on('request', server.nodeHandler);
httpServer.listen(Number(process.env.RP_PORT ?? 0), '127.0.0.1', () => {
  tell({ type: 'ready', port: (httpServer.address() as AddressInfo).port, pid: process.pid });
});

/** `server.close({ drainMs })` as designed in docs/scaling.md; older servers take no argument. */
type CloseWithDrain = (options?: { drainMs?: number }) => Promise<void>;

process.on('message', (message: { type?: string; drainMs?: number }) => {
  if (message?.type !== 'close') return;
  void (async () => {
    const close = server.close as CloseWithDrain;
    await (message.drainMs === undefined ? close() : close({ drainMs: message.drainMs }));
    httpServer.closeAllConnections();
    httpServer.close();
    await deps.close();
    tell({ type: 'closed' });
    process.exit(0);
  })();
});
