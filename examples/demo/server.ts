/**
 * The live demo (`npm run demo`): a node:http server embedding realtime-progress on SQLite,
 * a video-pipeline task simulator, and a page built with the package's own client.
 *
 *   PORT=3000 (default)   DATABASE_URL=postgres://... to use PostgreSQL instead of SQLite
 *   DEMO_SQLITE_FILE (default ./.data/demo.sqlite)   DEMO_STEP_MS (mean step duration, 700)
 *   DEMO_FAILURE_RATE (share of tasks that fail, 0.15)
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import {
  createProgressServer,
  createPrometheusHandler,
  type ProgressServer,
} from '../../src/server/index.js';
import { runVideoTask, type VideoTaskSpec } from './simulator.js';
import { openDemoStorage } from './storage.js';
import { openTaskRegistry } from './task-registry.js';

const here = dirname(fileURLToPath(import.meta.url));
const TITLES = [
  'Product launch keynote',
  'Onboarding walkthrough',
  'Drone footage — coastline',
  'Customer interview #12',
  'Conference talk: WebSockets at scale',
  'Weekly all-hands',
  'Tutorial: React hooks',
  'Trailer (4K master)',
];

export interface DemoOptions {
  port?: number;
  host?: string;
  /** @default './.data/demo.sqlite' */
  sqliteFile?: string;
  databaseUrl?: string | undefined;
  /** Mean duration of a simulated step. @default 700 */
  stepMs?: number;
  /** Share of tasks that fail at a random step. @default 0.15 */
  failureRate?: number;
}

export interface RunningDemo {
  readonly url: string;
  readonly progress: ProgressServer;
  close(): Promise<void>;
}

export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const sqliteFile = resolve(options.sqliteFile ?? '.data/demo.sqlite');
  const stepMs = options.stepMs ?? 700;
  const failureRate = options.failureRate ?? 0.15;
  const store = openDemoStorage({ sqliteFile, databaseUrl: options.databaseUrl });
  const registry = openTaskRegistry(`${sqliteFile}.tasks.json`);
  const httpServer = createServer();
  const progress = createProgressServer(httpServer, store.storage, { throttle: { progressIntervalMs: 100 } });
  const metricsHandler = createPrometheusHandler(progress);
  const running = new Map<string, AbortController>();
  const page = await buildPage();

  const run = (spec: VideoTaskSpec, fromStep: number): void => {
    const controller = new AbortController();
    running.set(spec.taskId, controller);
    runVideoTask(progress, spec, { fromStep, stepMs, signal: controller.signal })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) console.error(`task ${spec.taskId} stopped:`, error);
      })
      .finally(() => running.delete(spec.taskId));
  };

  const startTask = (): VideoTaskSpec => {
    const spec: VideoTaskSpec = {
      taskId: `video-${randomBytes(4).toString('hex')}`,
      title: TITLES[Math.floor(Math.random() * TITLES.length)]!,
      segments: 4 + Math.floor(Math.random() * 6),
      failAtStep: Math.random() < failureRate ? 2 + Math.floor(Math.random() * 4) : null,
      createdAtMs: Date.now(),
    };
    registry.add(spec);
    run(spec, 0);
    return spec;
  };

  // Finish what a previous run of the demo left unfinished (same database, same tasks).
  for (const spec of registry.list()) {
    const snapshot = await store.storage.getSnapshot(spec.taskId);
    if (snapshot !== null && (snapshot.state.status === 'running' || snapshot.state.status === 'pending')) {
      run(spec, snapshot.state.completed_steps);
    }
  }

  const demoRoutes = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://demo');
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    };
    const json = (status: number, value: unknown): void =>
      send(status, 'application/json; charset=utf-8', JSON.stringify(value));
    if (req.method === 'GET' && url.pathname === '/') return send(200, 'text/html; charset=utf-8', page.html);
    if (req.method === 'GET' && url.pathname === '/app.js')
      return send(200, 'text/javascript; charset=utf-8', page.script);
    if (req.method === 'GET' && url.pathname === '/styles.css')
      return send(200, 'text/css; charset=utf-8', page.styles);
    if (req.method === 'GET' && url.pathname === '/metrics') return metricsHandler(req, res);
    if (req.method === 'GET' && url.pathname === '/demo/tasks') {
      return json(200, {
        tasks: registry.list().map((spec) => ({
          task_id: spec.taskId,
          title: spec.title,
          created_at: new Date(spec.createdAtMs).toISOString(),
        })),
      });
    }
    if (req.method === 'POST' && url.pathname === '/demo/tasks') {
      const count = Math.min(10, Math.max(1, Number(url.searchParams.get('count') ?? 1) || 1));
      const specs = Array.from({ length: count }, startTask);
      return json(201, {
        tasks: specs.map((spec) => ({
          task_id: spec.taskId,
          title: spec.title,
          created_at: new Date(spec.createdAtMs).toISOString(),
        })),
      });
    }
    if (req.method === 'POST' && url.pathname === '/demo/drop') {
      // Cut every WebSocket's TCP connection without a close frame, as a network failure would.
      const dropped = upgradedSockets.size;
      for (const socket of upgradedSockets) socket.destroy();
      return json(200, { dropped });
    }
    const cancel = /^\/demo\/tasks\/([^/]+)\/cancel$/.exec(url.pathname);
    if (req.method === 'POST' && cancel !== null) {
      const taskId = decodeURIComponent(cancel[1]!);
      const controller = running.get(taskId);
      if (controller === undefined)
        return json(409, { error: 'The task is not running.', code: 'TASK_FINISHED' });
      controller.abort();
      await progress.setStatus(taskId, 'cancelled', { error: 'Cancelled by the user' });
      return json(200, { task_id: taskId, status: 'cancelled' });
    }
    json(404, { error: 'Not found.', code: 'NOT_FOUND' });
  };

  const upgradedSockets = new Set<Duplex>();
  httpServer.on('upgrade', (_req, socket) => {
    upgradedSockets.add(socket);
    socket.once('close', () => upgradedSockets.delete(socket));
  });
  httpServer.on('request', (req, res) =>
    progress.nodeHandler(req, res, () => {
      demoRoutes(req, res).catch((error: unknown) => {
        console.error(error);
        if (!res.headersSent)
          res
            .writeHead(500, { 'content-type': 'application/json' })
            .end('{"error":"Internal error.","code":"INTERNAL"}');
      });
    }),
  );
  await new Promise<void>((resolveListen) =>
    httpServer.listen(options.port ?? 3000, options.host ?? '127.0.0.1', resolveListen),
  );
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    progress,
    async close() {
      for (const controller of running.values()) controller.abort();
      await progress.close();
      await store.close();
      httpServer.closeAllConnections();
      await new Promise((resolveClose) => httpServer.close(resolveClose));
    },
  };
}

/** Bundles the page's script with esbuild (the package's own client, for the browser). */
async function buildPage(): Promise<{ html: string; script: string; styles: string }> {
  const result = await build({
    entryPoints: [join(here, 'page/app.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
  });
  return {
    html: readFileSync(join(here, 'page/index.html'), 'utf8'),
    script: result.outputFiles[0]!.text,
    styles: readFileSync(join(here, 'page/styles.css'), 'utf8'),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const demo = await startDemo({
    port: Number(process.env.PORT ?? 3000),
    host: process.env.HOST ?? '127.0.0.1',
    databaseUrl: process.env.DATABASE_URL,
    ...(process.env.DEMO_SQLITE_FILE ? { sqliteFile: process.env.DEMO_SQLITE_FILE } : {}),
    ...(process.env.DEMO_STEP_MS ? { stepMs: Number(process.env.DEMO_STEP_MS) } : {}),
    ...(process.env.DEMO_FAILURE_RATE ? { failureRate: Number(process.env.DEMO_FAILURE_RATE) } : {}),
  });
  console.log(`realtime-progress demo: open ${demo.url}`);
  const stop = () => {
    void demo.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
