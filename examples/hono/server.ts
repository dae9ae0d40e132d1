/**
 * realtime-progress in a Hono app on Node: `server.fetch` serves the REST API from a
 * catch-all route under `/api/v1`, the WebSocket endpoint attaches to the `http.Server` that
 * `@hono/node-server` creates, and `POST /tasks` is the app's own route.
 *
 * Run: npx tsx examples/hono/server.ts   (PORT=3000 by default)
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
// In your app: import { createProgressServer } from 'realtime-progress/server';
import { createProgressServer } from '../../src/server/index.js';
import { listen, type RunningExample, runAsScript } from '../shared/serve.js';
import { simulateTask } from '../shared/simulate-task.js';

/** Starts the example on `port` (0 picks a free one); `close()` stops everything it started. */
export async function start(port = 3000, host = '127.0.0.1'): Promise<RunningExample> {
  const app = new Hono();
  // createAdaptorServer (unlike serve) does not listen yet, so the WebSocket side attaches first.
  const httpServer = createAdaptorServer({ fetch: app.fetch }) as Server;
  const progress = createProgressServer(httpServer);
  const stop = new AbortController();

  app.post('/tasks', async (c) => {
    const taskId = `task-${randomUUID().slice(0, 8)}`;
    await progress.publish(taskId, { progress: 0, currentStep: 'queued' });
    simulateTask(progress, taskId, stop.signal).catch((error) => stop.signal.aborted || console.error(error));
    return c.json({ task_id: taskId }, 202);
  });
  // Unknown paths under /api/v1 get the API's JSON 404; CORS, if needed, is `app.use(cors())` first.
  app.all('/api/v1/*', (c) => progress.fetch(c.req.raw));

  return listen(httpServer, progress, stop, port, host);
}

await runAsScript(import.meta.url, 'hono', start);
