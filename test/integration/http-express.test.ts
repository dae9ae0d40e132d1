/**
 * The node handler as express middleware: it answers its own routes and hands everything
 * else to `next()` untouched, body included.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../../src/adapters/storage/memory.js';
import { createAuthHooks } from '../../src/server/auth.js';
import { createHttpApi } from '../../src/server/http/api.js';
import { createNodeHandler } from '../../src/server/http/node.js';
import { silentLogger } from '../../src/server/logger.js';
import type { ClientRegistry } from '../../src/server/types.js';

const clients: ClientRegistry = {
  stats: () => ({ totalClients: 0, byUser: {}, byProject: {} }),
  identityOf: () => undefined,
  subscribe: async () => false,
  unsubscribe: async () => false,
};

const handler = createNodeHandler(
  createHttpApi({
    basePath: '/api/v1',
    storage: createMemoryStorage(),
    clients,
    auth: createAuthHooks(undefined, undefined, silentLogger),
    logger: silentLogger,
  }),
);

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
});

async function listen(app: Express): Promise<string> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const json = async (response: Response) => [response.status, await response.json()];

describe('nodeHandler as express middleware', () => {
  it('answers its own routes', async () => {
    const app = express().use(handler);
    const url = await listen(app);
    expect(await json(await fetch(`${url}/api/v1/websocket/stats`))).toEqual([
      200,
      { total_clients: 0, by_user: {}, by_project: {} },
    ]);
  });

  it('calls next() for a path outside the base path', async () => {
    const app = express()
      .use(handler)
      .get('/hello', (_req, res) => {
        res.json({ hello: 'world' });
      });
    const url = await listen(app);
    expect(await json(await fetch(`${url}/hello`))).toEqual([200, { hello: 'world' }]);
  });

  it('calls next() for an unknown path under the base path', async () => {
    const app = express()
      .use(handler)
      .get('/api/v1/tasks', (_req, res) => {
        res.json({ tasks: [] });
      });
    const url = await listen(app);
    expect(await json(await fetch(`${url}/api/v1/tasks`))).toEqual([200, { tasks: [] }]);
  });

  it('leaves the body of a passed-through request unread', async () => {
    const app = express()
      .use(handler)
      .use(express.json())
      .post('/api/v1/tasks', (req, res) => {
        res.json(req.body);
      });
    const url = await listen(app);
    const response = await fetch(`${url}/api/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'render' }),
    });
    expect(await json(response)).toEqual([200, { name: 'render' }]);
  });

  it('matches the full path when mounted under a prefix', async () => {
    const app = express().use('/api/v1', handler);
    const url = await listen(app);
    expect(await json(await fetch(`${url}/api/v1/progress/stats`))).toEqual([
      200,
      { total_tasks: 0, active_tasks: 0, completed_tasks: 0, failed_tasks: 0 },
    ]);
  });

  it('answers its own errors as JSON, not as an express HTML page', async () => {
    const app = express().use(handler);
    const url = await listen(app);
    expect(await json(await fetch(`${url}/api/v1/progress/nope`))).toEqual([
      404,
      { error: 'Task "nope" not found.', code: 'TASK_NOT_FOUND' },
    ]);
  });
});
