/**
 * realtime-progress in an express app: `server.nodeHandler` is ordinary middleware (it calls
 * `next()` for paths it does not own), the WebSocket endpoint attaches to the same
 * `http.Server`, and `POST /tasks` is the app's own route.
 *
 * Run: npx tsx examples/express/server.ts   (PORT=3000 by default)
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import express from 'express';
// In your app: import { createProgressServer } from 'realtime-progress/server';
import { createProgressServer } from '../../src/server/index.js';
import { listen, type RunningExample, runAsScript } from '../shared/serve.js';
import { simulateTask } from '../shared/simulate-task.js';

/** Starts the example on `port` (0 picks a free one); `close()` stops everything it started. */
export async function start(port = 3000, host = '127.0.0.1'): Promise<RunningExample> {
  const app = express();
  const httpServer = createServer(app);
  const progress = createProgressServer(httpServer);
  const stop = new AbortController();

  // CORS, if you need it, goes before this line (e.g. `app.use(cors())`); the API leaves it to you.
  app.use(progress.nodeHandler);
  app.post('/tasks', async (_req, res) => {
    const taskId = `task-${randomUUID().slice(0, 8)}`;
    await progress.publish(taskId, { progress: 0, currentStep: 'queued' });
    res.status(202).json({ task_id: taskId });
    simulateTask(progress, taskId, stop.signal).catch((error) => stop.signal.aborted || console.error(error));
  });

  return listen(httpServer, progress, stop, port, host);
}

await runAsScript(import.meta.url, 'express', start);
