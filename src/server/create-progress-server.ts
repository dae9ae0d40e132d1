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
import { frameTexts } from './frames.js';
import { createHttpApi } from './http/api.js';
import { createFetchHandler } from './http/fetch.js';
import { createNodeHandler } from './http/node.js';
import { Hub } from './hub.js';
import { silentLogger } from './logger.js';
import { formatPrometheus, MetricsRecorder, type ServerMetrics } from './metrics.js';
import { type ProgressServerOptions, resolveServerOptions } from './options.js';
import { buildPublisher, type ProgressPublisher } from './progress-service.js';
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
   * Operator metrics: connections by user and project, messages sent and their rate, resume
   * success rate, delivery and storage latency, slow consumers, queue depths, coalesced and
   * dropped counts. `messagesPerSecond` averages since the previous call.
   */
  metrics(): ServerMetrics;
  /** The same metrics in the Prometheus text format; see `createPrometheusHandler`. */
  prometheusMetrics(): string;
  /**
   * Closes every WebSocket, saves their sessions for resume, writes throttled updates,
   * flushes storage and removes the server's listeners. The host's `http.Server` keeps
   * running. New upgrades are refused (503) from the start.
   * @param options.drainMs For rolling deploys: close each socket with 1012 (service restart)
   * at a random moment within this window instead of all at once with 1001, so reconnecting
   * clients spread over the remaining nodes. @default 0
   */
  close(options?: { drainMs?: number }): Promise<void>;
  /** Connected clients of the whole cluster (with `presence`), else of this process. */
  clusterStats(): Promise<ConnectionStats>;
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
  const recorder = new MetricsRecorder();
  const presence = options.presence;
  const hub = new Hub({
    metrics: recorder,
    storage,
    bus,
    auth,
    logger,
    options: resolved,
    now: Date.now,
    frameTexts,
    presence,
  });
  presence?.start(() => hub.stats());
  const attachment = attachWebSocketServer(httpServer, { hub, auth, logger, options: resolved });
  const publisher = buildPublisher({ storage, bus, throttle: resolved.throttle, logger }, recorder);
  let lastRate = { atMs: recorder.startedAtMs, messagesSent: 0 };

  const metrics = (): ServerMetrics => {
    const { totalClients, byUser, byProject } = hub.stats();
    const live = hub.liveCounts();
    const messagesSent = recorder.messagesSentByClosed + live.messagesSent;
    const now = Date.now();
    const messagesPerSecond =
      now > lastRate.atMs ? ((messagesSent - lastRate.messagesSent) * 1000) / (now - lastRate.atMs) : 0;
    lastRate = { atMs: now, messagesSent };
    return {
      connectedClients: totalClients,
      byUser,
      byProject,
      connectionsOpenedTotal: recorder.connectionsOpened,
      messagesSentTotal: messagesSent,
      messagesPerSecond,
      eventsPublishedTotal: recorder.eventsPublished,
      resumeAttemptsTotal: recorder.resumeAttempts,
      resumeSuccessesTotal: recorder.resumeSuccesses,
      resumeSuccessRate:
        recorder.resumeAttempts === 0 ? 1 : recorder.resumeSuccesses / recorder.resumeAttempts,
      deliveryLatency: recorder.deliveryLatency.summary(),
      storageWriteLatency: recorder.storageWriteLatency.summary(),
      slowConsumers: live.slowConsumers,
      pendingEvents: live.pendingEvents,
      coalescedEventsTotal: recorder.coalescedEvents,
      droppedPendingEventsTotal: recorder.droppedPendingEvents,
      rateLimitedMessagesTotal: recorder.rateLimitedMessages,
      slowConsumerDisconnectsTotal: recorder.slowConsumerDisconnects,
    };
  };
  const api = createHttpApi({ basePath: resolved.apiBasePath, storage, clients: hub.registry, auth, logger });

  const cleanup =
    resolved.cleanupIntervalMs > 0
      ? setInterval(() => {
          storage
            .cleanup(Date.now())
            .catch((error) => logger.error({ err: error }, 'storage cleanup failed'));
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
    clusterStats: () => hub.registry.clusterStats?.() ?? Promise.resolve(hub.stats()),
    metrics,
    prometheusMetrics: () => formatPrometheus(metrics(), recorder),
    close(options = {}) {
      closing ??= (async () => {
        if (cleanup !== undefined) clearInterval(cleanup);
        // Sockets first: during a drain, events still reach the clients not yet closed.
        await attachment.close(options.drainMs ?? 0);
        await publisher.close();
        await presence?.close();
        await storage.close();
        await bus.close();
      })();
      return closing;
    },
  };
}

/**
 * A `node:http` handler (or express middleware) answering Prometheus scrapes with the
 * server's metrics in the text exposition format. Mount it where you like, e.g. `/metrics`.
 * @example
 * app.get('/metrics', createPrometheusHandler(progress));
 */
export function createPrometheusHandler(
  server: Pick<ProgressServer, 'prometheusMetrics'>,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    res.writeHead(200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(server.prometheusMetrics());
  };
}
