/**
 * realtime-progress on plain `node:http`: the WebSocket endpoint (`/api/v1/ws`) and the REST
 * API (`/api/v1/...`) share one server with a route of the app's own, `POST /tasks`, which
 * starts a simulated task that publishes progress.
 *
 * Run: npx tsx examples/node-http/server.ts   (PORT=3000 by default)
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
// In your app: import { createProgressServer } from 'realtime-progress/server';
import { createProgressServer } from '../../src/server/index.js';
import { listen, type RunningExample, runAsScript } from '../shared/serve.js';
import { simulateTask } from '../shared/simulate-task.js';

/** Starts the example on `port` (0 picks a free one); `close()` stops everything it started. */
export async function start(port = 3000, host = '127.0.0.1'): Promise<RunningExample> {
  const httpServer = createServer();
  const progress = createProgressServer(httpServer);
  const stop = new AbortController();

  const ownRoutes = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST' || req.url !== '/tasks') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      return;
    }
    const taskId = `task-${randomUUID().slice(0, 8)}`;
    await progress.publish(taskId, { progress: 0, currentStep: 'queued' });
    res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ task_id: taskId }));
    simulateTask(progress, taskId, stop.signal).catch((error) => stop.signal.aborted || console.error(error));
  };
  // The REST API answers its own routes and hands every other request to `next`.
  httpServer.on('request', (req, res) => progress.nodeHandler(req, res, () => void ownRoutes(req, res)));

  return listen(httpServer, progress, stop, port, host);
}

await runAsScript(import.meta.url, 'node:http', start);
