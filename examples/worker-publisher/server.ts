/**
 * The server process: the WebSocket endpoint and REST API (storage and Redis bus shared with
 * the worker), plus `POST /jobs`, which enqueues a render job and answers with its task id.
 * Start several of these on different ports behind a load balancer; any of them delivers.
 *
 * Run: npx tsx examples/worker-publisher/server.ts   (PORT=3000 by default; see README.md)
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Queue } from 'bullmq';
// In your app: import { createProgressServer } from 'realtime-progress/server';
import { createProgressServer } from '../../src/server/index.js';
import { infrastructure, QUEUE, REDIS_URL } from './infrastructure.js';

const shared = infrastructure({ subscribe: true });
const queue = new Queue(QUEUE, { connection: { url: REDIS_URL } });
const httpServer = createServer();
const progress = createProgressServer(httpServer, shared.storage, { bus: shared.bus });

httpServer.on('request', (req, res) =>
  progress.nodeHandler(req, res, async () => {
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/jobs') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      return;
    }
    const fail = new URL(req.url, 'http://x').searchParams.get('fail') === '1';
    // Our own job id, so that the task exists (`pending`) before a worker can pick the job up.
    const jobId = randomUUID().slice(0, 8);
    const taskId = `${QUEUE}-${jobId}`; // the bridge's default task id
    await progress.setStatus(taskId, 'pending');
    await queue.add('render', { frames: 240, ...(fail ? { failAt: 6 } : {}) }, { jobId });
    res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ task_id: taskId }));
  }),
);

const port = Number(process.env.PORT ?? 3000);
httpServer.listen(port, '127.0.0.1', () => console.log(`progress server on http://127.0.0.1:${port}`));

const shutdown = async (): Promise<void> => {
  await progress.close();
  await queue.close();
  await shared.close();
  httpServer.close();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
