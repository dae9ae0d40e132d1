/**
 * realtime-progress in a fastify app: the WebSocket endpoint attaches to `fastify.server`
 * (the underlying `http.Server`), and a catch-all route under `/api/v1` hands the raw
 * request to `server.nodeHandler`. The route lives in its own plugin scope with a
 * pass-through body parser, so fastify neither reads nor rejects request bodies there
 * (no 415 for an unknown content type, no 400 for an empty JSON body). Routes of your own,
 * even under `/api/v1`, win over the wildcard. `POST /tasks` is the app's own route.
 *
 * Run: npx tsx examples/fastify/server.ts   (PORT=3000 by default)
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
// In your app: import { createProgressServer } from 'realtime-progress/server';
import { createProgressServer } from '../../src/server/index.js';
import { type RunningExample, runAsScript } from '../shared/serve.js';
import { simulateTask } from '../shared/simulate-task.js';

/** Starts the example on `port` (0 picks a free one); `close()` stops everything it started. */
export async function start(port = 3000, host = '127.0.0.1'): Promise<RunningExample> {
  const fastify = Fastify();
  const progress = createProgressServer(fastify.server);
  const stop = new AbortController();

  await fastify.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    scope.all('/api/v1/*', (request, reply) => {
      reply.hijack(); // the handler writes the raw response itself
      progress.nodeHandler(request.raw, reply.raw);
    });
  });
  fastify.post('/tasks', async (_request, reply) => {
    const taskId = `task-${randomUUID().slice(0, 8)}`;
    await progress.publish(taskId, { progress: 0, currentStep: 'queued' });
    simulateTask(progress, taskId, stop.signal).catch((error) => stop.signal.aborted || console.error(error));
    return reply.code(202).send({ task_id: taskId });
  });

  await fastify.listen({ port, host });
  return {
    url: `http://${host}:${(fastify.server.address() as AddressInfo).port}`,
    async close() {
      stop.abort();
      await progress.close(); // closes the WebSockets; fastify's server is the app's to close
      await fastify.close();
    },
  };
}

await runAsScript(import.meta.url, 'fastify', start);
