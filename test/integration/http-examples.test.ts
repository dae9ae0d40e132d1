/**
 * Smoke test per framework example: start it on port 0, call one REST endpoint, open one
 * WebSocket, use the example's own route, close.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import * as expressExample from '../../examples/express/server.js';
import * as fastifyExample from '../../examples/fastify/server.js';
import * as honoExample from '../../examples/hono/server.js';
import * as nodeHttpExample from '../../examples/node-http/server.js';

type Started = Awaited<ReturnType<typeof nodeHttpExample.start>>;

const EXAMPLES = [
  { name: 'node-http', start: nodeHttpExample.start },
  { name: 'express', start: expressExample.start },
  { name: 'fastify', start: fastifyExample.start },
  { name: 'hono', start: honoExample.start },
];

const running: Started[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await Promise.all(running.splice(0).map((example) => example.close()));
});

async function startExample(start: (port: number) => Promise<Started>): Promise<string> {
  const example = await start(0);
  running.push(example);
  return example.url;
}

const json = async (response: Response) => [response.status, await response.json()];

describe.each(EXAMPLES)('examples/$name', ({ start }) => {
  it('serves a REST endpoint', async () => {
    const url = await startExample(start);
    expect(await json(await fetch(`${url}/api/v1/progress/stats`))).toEqual([
      200,
      { total_tasks: 0, active_tasks: 0, completed_tasks: 0, failed_tasks: 0 },
    ]);
  });

  it('answers an unknown task with the JSON 404', async () => {
    const url = await startExample(start);
    expect(await json(await fetch(`${url}/api/v1/progress/nope`))).toEqual([
      404,
      { error: 'Task "nope" not found.', code: 'TASK_NOT_FOUND' },
    ]);
  });

  it('accepts a WebSocket that first receives `connected`', async () => {
    const url = await startExample(start);
    const socket = new WebSocket(`${url.replace('http', 'ws')}/api/v1/ws?user_id=user-001`);
    sockets.push(socket);
    const [data] = await once(socket, 'message');
    expect(JSON.parse(String(data)).type).toBe('connected');
  });

  it('runs its own route next to the API', async () => {
    const url = await startExample(start);
    const created = await fetch(`${url}/tasks`, { method: 'POST' });
    const { task_id: taskId } = (await created.json()) as { task_id: string };
    const [status, body] = await json(await fetch(`${url}/api/v1/progress/${encodeURIComponent(taskId)}`));
    expect([created.status, status, body.status, body.progress]).toEqual([202, 200, 'running', 0]);
  });
});
