/**
 * `createProgressServer`: attaches the WebSocket endpoint to the host's `http.Server`, wires
 * the hub, the publish path, storage cleanup and the REST handlers. It never listens on a
 * port and never closes the host's server.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createLocalBus } from '../adapters/bus/local.js';
import { createMemoryStorage } from '../adapters/storage/memory.js';
import type { StorageAdapter } from '../adapters/storage/types.js';
import { attachWebSocketServer } from './attach.js';
import { createAuthHooks } from './auth.js';
import { createHttpApi } from './http/api.js';
import { createFetchHandler } from './http/fetch.js';
import { createNodeHandler } from './http/node.js';
import { Hub } from './hub.js';
import { silentLogger } from './logger.js';
import { type ProgressServerOptions, resolveServerOptions } from './options.js';
import { createProgressPublisher, type ProgressPublisher } from './progress-service.js';
import type { ConnectionStats } from './types.js';

export interface ProgressServer extends Omit<ProgressPublisher, 'close'> {
  /**
   * The REST API as a `node:http` listener and connect/express middleware: it answers the
   * routes under `apiBasePath` and calls `next()` (or answers 404) for anything else.
   */
  readonly nodeHandler: (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;
  /** The REST API as a fetch handler (Hono, Next.js route handlers, Bun, Deno). */
  readonly fetch: (request: Request) => Promise<Response>;
  /** Connected clients, by user and by project (the seed's `/websocket/stats`). */
  stats(): ConnectionStats;
  /**
   * Closes every WebSocket with 1001, saves their sessions for resume, writes throttled
   * updates, flushes storage and removes the server's listeners. The host's `http.Server`
   * keeps running.
   */
  close(): Promise<void>;
}

/**
 * Attaches realtime progress to an existing `http.Server`.
 * @param httpServer The host's server; only upgrades on `options.path` are taken.
 * @param storage Where events, snapshots and sessions live. @default createMemoryStorage()
 * @example
 * const httpServer = http.createServer();
 * const progress = createProgressServer(httpServer);
 * httpServer.on('request', progress.nodeHandler);
 * httpServer.listen(3000);
 * await progress.publish('task-1', { progress: 10, currentStep: 'download' });
 */
export function createProgressServer(
  httpServer: Server,
  storage: StorageAdapter = createMemoryStorage(),
  options: ProgressServerOptions = {},
): ProgressServer {
  const resolved = resolveServerOptions(options);
  const logger = options.logger ?? silentLogger;
  const bus = options.bus ?? createLocalBus();
  const auth = createAuthHooks(resolved.authenticate, resolved.authorize, logger);
  const hub = new Hub({ storage, bus, auth, logger, options: resolved, now: Date.now });
  const attachment = attachWebSocketServer(httpServer, { hub, auth, logger, options: resolved });
  const publisher = createProgressPublisher({ storage, bus, throttle: resolved.throttle, logger });
  const api = createHttpApi({ basePath: resolved.apiBasePath, storage, clients: hub.registry, auth, logger });

  const cleanup =
    resolved.cleanupIntervalMs > 0
      ? setInterval(() => {
          storage.cleanup(Date.now()).catch((error) => logger.error({ err: error }, 'storage cleanup failed'));
        }, resolved.cleanupIntervalMs).unref()
      : undefined;

  let closing: Promise<void> | undefined;
  return {
    publish: publisher.publish,
    setStatus: publisher.setStatus,
    reportError: publisher.reportError,
    nodeHandler: createNodeHandler(api),
    fetch: createFetchHandler(api),
    stats: () => hub.stats(),
    close() {
      closing ??= (async () => {
        if (cleanup !== undefined) clearInterval(cleanup);
        await publisher.close();
        await attachment.close();
        await storage.close();
        await bus.close();
      })();
      return closing;
    },
  };
}
