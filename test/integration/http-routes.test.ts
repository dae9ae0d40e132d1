/**
 * Every REST route through both adapters: the same table of cases runs against the fetch
 * handler (called directly with a `Request`) and against the node handler mounted on a real
 * `node:http` server listening on port 0.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../../src/adapters/storage/memory.js';
import type { NewTaskEvent, StorageAdapter } from '../../src/adapters/storage/types.js';
import { type AuthHooks, createAuthHooks } from '../../src/server/auth.js';
import { createHttpApi, type HttpApi } from '../../src/server/http/api.js';
import { createFetchHandler } from '../../src/server/http/fetch.js';
import { createNodeHandler } from '../../src/server/http/node.js';
import { silentLogger } from '../../src/server/logger.js';
import type { AuthRequest, ClientRegistry, Identity, Logger } from '../../src/server/types.js';
import { ProgressError, StorageError } from '../../src/shared/errors.js';

// ---------------------------------------------------------------------------------------
// Fixture: seeded memory storage, a plain-object client registry, and two transports.

const T0 = Date.UTC(2026, 1, 21, 10, 0, 0);
const at = (second: number) => new Date(T0 + second * 1000).toISOString();

const progressEvent = (taskId: string, second: number, progress: number): NewTaskEvent => ({
  taskId,
  type: 'progress',
  timestampMs: T0 + second * 1000,
  data: {
    progress,
    current_step: '处理视频片段',
    total_steps: 10,
    completed_steps: Math.floor(progress / 10),
    message: `step at ${progress}`,
  },
});

/** The history entry of a progress event from {@link progressEvent}. */
const progressEntry = (taskId: string, second: number, progress: number, seq: number) => ({
  task_id: taskId,
  progress,
  current_step: '处理视频片段',
  total_steps: 10,
  completed_steps: Math.floor(progress / 10),
  message: `step at ${progress}`,
  status: 'running',
  timestamp: at(second),
  type: 'progress',
  seq,
});

/** The `GET /progress/:task_id` body after that progress event. */
const snapshotOf = (taskId: string, second: number, progress: number, seq: number) => {
  const { type: _type, ...entry } = progressEntry(taskId, second, progress, seq);
  return entry;
};

const LONG_TASK_EVENTS = 30;
const longEntries = (fromSeq: number, toSeq: number) =>
  Array.from({ length: toSeq - fromSeq + 1 }, (_, i) =>
    progressEntry('long', fromSeq + i, fromSeq + i, fromSeq + i),
  );

async function seed(storage: StorageAdapter): Promise<void> {
  await storage.appendEvents([
    progressEvent('task-001', 1, 40),
    progressEvent('task-001', 2, 45),
    {
      taskId: 'task-001',
      type: 'error',
      timestampMs: T0 + 3000,
      data: { step_id: 'cut', error: 'retrying' },
    },
    progressEvent('stats', 4, 20),
    progressEvent('a/b c', 5, 30),
    progressEvent('任务', 6, 50),
    progressEvent('done', 7, 100),
    {
      taskId: 'done',
      type: 'status',
      timestampMs: T0 + 8000,
      data: { status: 'completed', error: '', result: 'ok' },
    },
    {
      taskId: 'bad',
      type: 'status',
      timestampMs: T0 + 9000,
      data: { status: 'failed', error: 'boom', result: null },
    },
    ...Array.from({ length: LONG_TASK_EVENTS }, (_, i) => progressEvent('long', i + 1, i + 1)),
  ]);
}

interface FakeClient {
  identity: Identity;
  tasks: Set<string>;
}

/** A registry with two connected clients; `subscribe` records what REST asked for. */
function createClients(): ClientRegistry & { connected: Map<string, FakeClient> } {
  const connected = new Map<string, FakeClient>([
    ['client-123', { identity: { userId: 'user-001', projectId: 'project-001' }, tasks: new Set() }],
    ['client-456', { identity: { userId: 'user-002', projectId: 'project-001' }, tasks: new Set() }],
  ]);
  const count = (key: keyof Identity) => {
    const counts: Record<string, number> = {};
    for (const { identity } of connected.values()) counts[identity[key]] = (counts[identity[key]] ?? 0) + 1;
    return counts;
  };
  return {
    connected,
    stats: () => ({ totalClients: connected.size, byUser: count('userId'), byProject: count('projectId') }),
    identityOf: (clientId) => connected.get(clientId)?.identity,
    subscribe: async (clientId, taskId) => connected.get(clientId)?.tasks.add(taskId) !== undefined,
    unsubscribe: async (clientId, taskId) => connected.get(clientId)?.tasks.delete(taskId) !== undefined,
  };
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** Sends a request through one adapter; `path` is raw (kept percent-encoded). */
type Send = (path: string, init?: RequestInit) => Promise<Answer>;

interface Transport {
  name: string;
  /** Mounts `api` and returns how to reach it. */
  mount(api: HttpApi): Promise<Send>;
}

const read = async (response: Response): Promise<Answer> => ({
  status: response.status,
  headers: response.headers,
  text: await response.text(),
});

const servers: Server[] = [];

const TRANSPORTS: Transport[] = [
  {
    name: 'fetch',
    async mount(api) {
      const handler = createFetchHandler(api);
      return async (path, init) => read(await handler(new Request(`http://127.0.0.1${path}`, init)));
    },
  },
  {
    name: 'node:http',
    async mount(api) {
      const server = createServer(createNodeHandler(api));
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      return async (path, init) => read(await fetch(`http://127.0.0.1:${port}${path}`, init));
    },
  },
];

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
});

interface Setup {
  storage: StorageAdapter;
  clients: ReturnType<typeof createClients>;
  logged: unknown[];
  send: Send;
}

async function setup(
  transport: Transport,
  overrides: { auth?: AuthHooks; storage?: StorageAdapter; basePath?: string; clients?: ClientRegistry } = {},
): Promise<Setup> {
  const storage = overrides.storage ?? createMemoryStorage();
  await seed(storage);
  const clients = createClients();
  const logged: unknown[] = [];
  const logger: Logger = { ...silentLogger, error: (fields) => logged.push(fields.err) };
  const api = createHttpApi({
    basePath: overrides.basePath ?? '/api/v1',
    storage,
    clients: overrides.clients ?? clients,
    auth: overrides.auth ?? createAuthHooks(undefined, undefined, logger),
    logger,
  });
  return { storage, clients, logged, send: await transport.mount(api) };
}

const error = (code: string, message: string) => ({ error: message, code });

// ---------------------------------------------------------------------------------------
// The table: one request, one exact answer.

interface Case {
  name: string;
  path: string;
  method?: string;
  body?: string;
  status: number;
  json?: unknown;
  headers?: Record<string, string>;
}

const P = '/api/v1/progress';

const CASES: Case[] = [
  {
    name: 'returns the snapshot in the seed shape with seq',
    path: `${P}/task-001`,
    status: 200,
    json: {
      task_id: 'task-001',
      progress: 45,
      current_step: '处理视频片段',
      total_steps: 10,
      completed_steps: 4,
      message: 'step at 45',
      status: 'running',
      timestamp: at(2),
      seq: 3,
    },
  },
  {
    name: 'answers 404 TASK_NOT_FOUND for an unknown task',
    path: `${P}/nope`,
    status: 404,
    json: error('TASK_NOT_FOUND', 'Task "nope" not found.'),
  },
  {
    name: 'decodes a URL-encoded task id holding a slash and a space',
    path: `${P}/a%2Fb%20c`,
    status: 200,
    json: snapshotOf('a/b c', 5, 30, 1),
  },
  {
    name: 'decodes a UTF-8 task id',
    path: `${P}/${encodeURIComponent('任务')}`,
    status: 200,
    json: snapshotOf('任务', 6, 50, 1),
  },
  {
    name: 'answers 400 INVALID_TASK_ID for malformed percent-encoding',
    path: `${P}/%E4%ZZ`,
    status: 400,
    json: error('INVALID_TASK_ID', 'Task id "%E4%ZZ" is not valid percent-encoding.'),
  },
  {
    name: 'answers 400 INVALID_TASK_ID for a 101-character task id',
    path: `${P}/${'x'.repeat(101)}`,
    status: 400,
    json: error('INVALID_TASK_ID', 'Task id must be 1 to 100 characters, got 101.'),
  },
  {
    name: 'accepts a 100-character task id',
    path: `${P}/${'x'.repeat(100)}`,
    status: 404,
    json: error('TASK_NOT_FOUND', `Task "${'x'.repeat(100)}" not found.`),
  },
  {
    name: 'answers 400 INVALID_TASK_ID for an empty task id',
    path: `${P}//history`,
    status: 400,
    json: error('INVALID_TASK_ID', 'Task id must be 1 to 100 characters, got 0.'),
  },
  {
    name: 'serves /progress/stats even when a task is named stats',
    path: `${P}/stats`,
    status: 200,
    json: { total_tasks: 7, active_tasks: 5, completed_tasks: 1, failed_tasks: 1 },
  },
  {
    name: 'reaches a task named stats when the segment is percent-encoded',
    path: `${P}/%73tats`,
    status: 200,
    json: snapshotOf('stats', 4, 20, 1),
  },
  {
    name: 'serves the history of a task named stats',
    path: `${P}/stats/history`,
    status: 200,
    json: { task_id: 'stats', source: 'memory', history: [progressEntry('stats', 4, 20, 1)] },
  },
  {
    name: 'serves the history of a task named active',
    path: `${P}/active/history/db`,
    status: 200,
    json: { task_id: 'active', source: 'database', history: [] },
  },
  {
    name: 'counts connected clients on /progress/active',
    path: `${P}/active`,
    status: 200,
    json: {
      connected_clients: 2,
      by_user: { 'user-001': 1, 'user-002': 1 },
      by_project: { 'project-001': 2 },
    },
  },
  {
    name: 'counts connected clients on /websocket/stats',
    path: '/api/v1/websocket/stats',
    status: 200,
    json: { total_clients: 2, by_user: { 'user-001': 1, 'user-002': 1 }, by_project: { 'project-001': 2 } },
  },
  {
    name: 'returns every event type oldest-first with type and seq',
    path: `${P}/task-001/history`,
    status: 200,
    json: {
      task_id: 'task-001',
      source: 'memory',
      history: [
        progressEntry('task-001', 1, 40, 1),
        progressEntry('task-001', 2, 45, 2),
        {
          execution_id: 'task-001',
          step_id: 'cut',
          error: 'retrying',
          timestamp: at(3),
          type: 'error',
          seq: 3,
        },
      ],
    },
  },
  {
    name: 'includes status events in history',
    path: `${P}/done/history/db`,
    status: 200,
    json: {
      task_id: 'done',
      source: 'database',
      history: [
        { ...progressEntry('done', 7, 100, 1) },
        {
          task_id: 'done',
          status: 'completed',
          error: '',
          result: 'ok',
          timestamp: at(8),
          type: 'status',
          seq: 2,
        },
      ],
    },
  },
  {
    name: 'returns the last 20 events by default from /history',
    path: `${P}/long/history`,
    status: 200,
    json: { task_id: 'long', source: 'memory', history: longEntries(11, 30) },
  },
  {
    name: 'returns up to 100 events by default from /history/db',
    path: `${P}/long/history/db`,
    status: 200,
    json: { task_id: 'long', source: 'database', history: longEntries(1, 30) },
  },
  {
    name: 'returns the last `limit` events oldest-first',
    path: `${P}/long/history?limit=3`,
    status: 200,
    json: { task_id: 'long', source: 'memory', history: longEntries(28, 30) },
  },
  {
    name: 'returns the first `limit` events after `after_seq`',
    path: `${P}/long/history/db?after_seq=5&limit=2`,
    status: 200,
    json: { task_id: 'long', source: 'database', history: longEntries(6, 7) },
  },
  {
    name: 'returns no events for limit=0',
    path: `${P}/long/history?limit=0`,
    status: 200,
    json: { task_id: 'long', source: 'memory', history: [] },
  },
  {
    name: 'accepts the cap limit=1000',
    path: `${P}/long/history?limit=1000`,
    status: 200,
    json: { task_id: 'long', source: 'memory', history: longEntries(1, 30) },
  },
  {
    name: 'returns an empty history for an unknown task',
    path: `${P}/nope/history`,
    status: 200,
    json: { task_id: 'nope', source: 'memory', history: [] },
  },
  ...[
    ['1001', '"1001"'],
    ['-1', '"-1"'],
    ['1.5', '"1.5"'],
    ['abc', '"abc"'],
    ['', '""'],
    ['1e2', '"1e2"'],
  ].map(
    ([raw, quoted]): Case => ({
      name: `answers 400 INVALID_PARAMETER for limit=${raw}`,
      path: `${P}/long/history?limit=${raw}`,
      status: 400,
      json: error('INVALID_PARAMETER', `limit must be an integer from 0 to 1000, got ${quoted}.`),
    }),
  ),
  {
    name: 'validates limit on /history/db too',
    path: `${P}/long/history/db?limit=5000`,
    status: 400,
    json: error('INVALID_PARAMETER', 'limit must be an integer from 0 to 1000, got "5000".'),
  },
  {
    name: 'answers 400 INVALID_PARAMETER for after_seq=-1',
    path: `${P}/long/history?after_seq=-1`,
    status: 400,
    json: error(
      'INVALID_PARAMETER',
      `after_seq must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got "-1".`,
    ),
  },
  {
    name: 'subscribes a connected client',
    method: 'POST',
    path: `${P}/task-001/subscribe?client_id=client-123`,
    status: 200,
    json: { message: '订阅成功', task_id: 'task-001', client_id: 'client-123' },
  },
  {
    name: 'unsubscribes a connected client',
    method: 'POST',
    path: `${P}/task-001/unsubscribe?client_id=client-123`,
    status: 200,
    json: { message: '取消订阅成功', task_id: 'task-001', client_id: 'client-123' },
  },
  {
    name: 'answers 404 CLIENT_NOT_FOUND when the client is not connected',
    method: 'POST',
    path: `${P}/task-001/subscribe?client_id=ghost`,
    status: 404,
    json: error('CLIENT_NOT_FOUND', 'Client "ghost" is not connected to this server.'),
  },
  {
    name: 'answers 404 CLIENT_NOT_FOUND on unsubscribe when the client is not connected',
    method: 'POST',
    path: `${P}/task-001/unsubscribe?client_id=ghost`,
    status: 404,
    json: error('CLIENT_NOT_FOUND', 'Client "ghost" is not connected to this server.'),
  },
  ...['', '?client_id='].map(
    (query): Case => ({
      name: `answers 400 INVALID_PARAMETER for subscribe with "${query}"`,
      method: 'POST',
      path: `${P}/task-001/subscribe${query}`,
      status: 400,
      json: error(
        'INVALID_PARAMETER',
        'client_id is required: pass the id from the "connected" message as ?client_id=.',
      ),
    }),
  ),
  {
    name: 'clears history with the seed message',
    method: 'DELETE',
    path: `${P}/task-001/history`,
    status: 200,
    json: { message: '历史已清除', task_id: 'task-001' },
  },
  {
    name: 'answers 405 with Allow for DELETE on /progress/stats',
    method: 'DELETE',
    path: `${P}/stats`,
    status: 405,
    json: error('METHOD_NOT_ALLOWED', 'DELETE is not allowed here; use GET, HEAD, OPTIONS.'),
    headers: { allow: 'GET, HEAD, OPTIONS' },
  },
  {
    name: 'answers 405 with Allow for GET on subscribe',
    path: `${P}/task-001/subscribe?client_id=client-123`,
    status: 405,
    json: error('METHOD_NOT_ALLOWED', 'GET is not allowed here; use POST, OPTIONS.'),
    headers: { allow: 'POST, OPTIONS' },
  },
  {
    name: 'answers 405 with Allow for PUT on history',
    method: 'PUT',
    path: `${P}/task-001/history`,
    status: 405,
    json: error('METHOD_NOT_ALLOWED', 'PUT is not allowed here; use GET, HEAD, DELETE, OPTIONS.'),
    headers: { allow: 'GET, HEAD, DELETE, OPTIONS' },
  },
  {
    name: 'answers HEAD with the GET headers and no body',
    method: 'HEAD',
    path: `${P}/stats`,
    status: 200,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(
        JSON.stringify({ total_tasks: 7, active_tasks: 5, completed_tasks: 1, failed_tasks: 1 }).length,
      ),
    },
  },
  {
    name: 'answers HEAD for an unknown task with 404 and no body',
    method: 'HEAD',
    path: `${P}/nope`,
    status: 404,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  },
  {
    name: 'answers OPTIONS with 204 and Allow',
    method: 'OPTIONS',
    path: `${P}/task-001/history`,
    status: 204,
    headers: { allow: 'GET, HEAD, DELETE, OPTIONS' },
  },
  {
    name: 'answers 413 FRAME_TOO_LARGE for a body over 64 KiB',
    method: 'POST',
    path: `${P}/task-001/subscribe?client_id=client-123`,
    body: 'x'.repeat(65_537),
    status: 413,
    json: error('FRAME_TOO_LARGE', 'Request body of 65537 bytes exceeds 65536.'),
  },
  {
    name: 'tolerates one trailing slash',
    path: `${P}/stats/`,
    status: 200,
    json: { total_tasks: 7, active_tasks: 5, completed_tasks: 1, failed_tasks: 1 },
  },
  {
    name: 'answers 404 NOT_FOUND for an unknown path under the base path',
    path: '/api/v1/progress/task-001/nothing',
    status: 404,
    json: error('NOT_FOUND', 'No route for GET /api/v1/progress/task-001/nothing.'),
  },
  {
    name: 'answers 404 NOT_FOUND outside the base path',
    path: '/elsewhere',
    status: 404,
    json: error('NOT_FOUND', 'No route for GET /elsewhere.'),
  },
];

/** A fetch `Request` carries no content-length of its own; hosts pass the incoming one. */
const initOf = (c: Case): RequestInit => {
  const init: RequestInit = { method: c.method ?? 'GET' };
  if (c.body !== undefined) {
    init.body = c.body;
    init.headers = { 'content-length': String(c.body.length) };
  }
  return init;
};

describe.each(TRANSPORTS)('REST routes via $name', (transport) => {
  let send: Send;
  beforeEach(async () => {
    ({ send } = await setup(transport));
  });

  it.each(CASES)('$name', async (c) => {
    const answer = await send(c.path, initOf(c));
    expect(answer.status).toBe(c.status);
    if (c.json === undefined) expect(answer.text).toBe('');
    else expect(JSON.parse(answer.text)).toEqual(c.json);
    for (const [name, value] of Object.entries(c.headers ?? {})) expect(answer.headers.get(name)).toBe(value);
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it('answers JSON with a UTF-8 content type', async () => {
    const answer = await send(`${P}/task-001`);
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });
});

describe.each(TRANSPORTS)('REST side effects via $name', (transport) => {
  it('empties the history on DELETE and keeps the snapshot', async () => {
    const { send } = await setup(transport);
    await send(`${P}/task-001/history`, { method: 'DELETE' });
    expect(JSON.parse((await send(`${P}/task-001/history`)).text)).toEqual({
      task_id: 'task-001',
      source: 'memory',
      history: [],
    });
    expect((await send(`${P}/task-001`)).status).toBe(200);
  });

  it('subscribes and unsubscribes the client in the registry', async () => {
    const { send, clients } = await setup(transport);
    await send(`${P}/a%2Fb/subscribe?client_id=client-123`, { method: 'POST' });
    expect([...(clients.connected.get('client-123')?.tasks ?? [])]).toEqual(['a/b']);
    await send(`${P}/a%2Fb/unsubscribe?client_id=client-123`, { method: 'POST' });
    expect([...(clients.connected.get('client-123')?.tasks ?? [])]).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// Host-supplied hooks: `authorization: Bearer <user>` authenticates, `secret-*` is forbidden.

const hostAuth = (seen: AuthRequest[] = []) =>
  createAuthHooks(
    (request) => {
      seen.push(request);
      const user = request.headers.get('authorization')?.replace(/^Bearer /, '');
      return user === undefined ? null : { userId: user, projectId: 'project-001' };
    },
    (_identity, taskId) => !taskId.startsWith('secret'),
    silentLogger,
  );

const as = (user: string): RequestInit => ({ headers: { authorization: `Bearer ${user}` } });

describe.each(TRANSPORTS)('REST auth hooks via $name', (transport) => {
  it.each([`${P}/stats`, `${P}/active`, '/api/v1/websocket/stats', `${P}/task-001`, `${P}/task-001/history`])(
    'answers 401 UNAUTHENTICATED on %s without credentials',
    async (path) => {
      const { send } = await setup(transport, { auth: hostAuth() });
      const answer = await send(path);
      expect([answer.status, JSON.parse(answer.text)]).toEqual([
        401,
        error('UNAUTHENTICATED', 'Authentication required; the request was refused.'),
      ]);
    },
  );

  it('authenticates before validating the task id', async () => {
    const { send } = await setup(transport, { auth: hostAuth() });
    expect((await send(`${P}/%ZZ`)).status).toBe(401);
  });

  it('serves an authenticated caller', async () => {
    const { send } = await setup(transport, { auth: hostAuth() });
    expect((await send(`${P}/task-001`, as('user-001'))).status).toBe(200);
  });

  it('answers 403 FORBIDDEN when authorize refuses the task', async () => {
    const { send } = await setup(transport, { auth: hostAuth() });
    const answer = await send(`${P}/secret-1/history`, as('user-001'));
    expect([answer.status, JSON.parse(answer.text)]).toEqual([
      403,
      error('FORBIDDEN', 'Access to task "secret-1" is forbidden.'),
    ]);
  });

  it('answers 404 CLIENT_NOT_FOUND for another user’s client', async () => {
    const { send, clients } = await setup(transport, { auth: hostAuth() });
    const answer = await send(`${P}/task-001/subscribe?client_id=client-456`, {
      method: 'POST',
      ...as('user-001'),
    });
    expect([answer.status, JSON.parse(answer.text)]).toEqual([
      404,
      error('CLIENT_NOT_FOUND', 'Client "client-456" is not connected to this server.'),
    ]);
    expect([...(clients.connected.get('client-456')?.tasks ?? [])]).toEqual([]);
  });

  it('subscribes the caller’s own client', async () => {
    const { send } = await setup(transport, { auth: hostAuth() });
    const answer = await send(`${P}/task-001/subscribe?client_id=client-123`, {
      method: 'POST',
      ...as('user-001'),
    });
    expect(answer.status).toBe(200);
  });

  it('answers OPTIONS without authenticating (CORS preflights carry no credentials)', async () => {
    const { send } = await setup(transport, { auth: hostAuth() });
    expect((await send(`${P}/task-001`, { method: 'OPTIONS' })).status).toBe(204);
  });

  it('hands authenticate the request URL, headers and kind', async () => {
    const seen: AuthRequest[] = [];
    const { send } = await setup(transport, { auth: hostAuth(seen) });
    await send(`${P}/stats?token=abc`, as('user-001'));
    expect(
      seen.map((r) => [
        r.kind,
        r.url.pathname,
        r.url.searchParams.get('token'),
        r.headers.get('authorization'),
      ]),
    ).toEqual([['http', `${P}/stats`, 'abc', 'Bearer user-001']]);
  });
});

it('gives authenticate the peer address through the node adapter', async () => {
  const seen: AuthRequest[] = [];
  const { send } = await setup(TRANSPORTS[1]!, { auth: hostAuth(seen) });
  await send(`${P}/stats`, as('user-001'));
  expect(seen.map((r) => r.ip.replace(/^::ffff:/, ''))).toEqual(['127.0.0.1']);
});

it('gives authenticate an empty peer address through the fetch adapter', async () => {
  const seen: AuthRequest[] = [];
  const { send } = await setup(TRANSPORTS[0]!, { auth: hostAuth(seen) });
  await send(`${P}/stats`, as('user-001'));
  expect(seen.map((r) => r.ip)).toEqual(['']);
});

// ---------------------------------------------------------------------------------------
// Failures inside: storage down, a bug, an SDK error about the caller's input.

function failingStorage(error: unknown): StorageAdapter {
  const storage = createMemoryStorage();
  return { ...storage, getSnapshot: () => Promise.reject(error), getStats: () => Promise.reject(error) };
}

describe.each(TRANSPORTS)('REST failures via $name', (transport) => {
  it('answers 503 STORAGE_UNAVAILABLE when storage fails, and logs the cause', async () => {
    const cause = new StorageError('connection refused at 10.0.0.5:5432');
    const { send, logged } = await setup(transport, { storage: failingStorage(cause) });
    const answer = await send(`${P}/task-001`);
    expect([answer.status, JSON.parse(answer.text)]).toEqual([
      503,
      error('STORAGE_UNAVAILABLE', 'Storage is unavailable; retry later.'),
    ]);
    expect(logged).toEqual([cause]);
  });

  it('answers 500 INTERNAL without details for an unexpected throw', async () => {
    const cause = new TypeError('secret internals');
    const { send, logged } = await setup(transport, { storage: failingStorage(cause) });
    const answer = await send(`${P}/stats`);
    expect([answer.status, JSON.parse(answer.text)]).toEqual([
      500,
      error('INTERNAL', 'Internal server error; the details were logged.'),
    ]);
    expect(logged).toEqual([cause]);
  });

  it('passes a 4xx SDK error from the registry through with its message', async () => {
    const clients: ClientRegistry = {
      ...createClients(),
      subscribe: () =>
        Promise.reject(new ProgressError('TOO_MANY_SUBSCRIPTIONS', 'Client follows 100 tasks already.')),
    };
    const { send } = await setup(transport, { clients });
    const answer = await send(`${P}/task-001/subscribe?client_id=client-123`, { method: 'POST' });
    expect([answer.status, JSON.parse(answer.text)]).toEqual([
      400,
      error('TOO_MANY_SUBSCRIPTIONS', 'Client follows 100 tasks already.'),
    ]);
  });
});

describe.each(TRANSPORTS)('a custom base path via $name', (transport) => {
  it('serves routes under the configured base path', async () => {
    const { send } = await setup(transport, { basePath: '/progress-api' });
    expect((await send('/progress-api/websocket/stats')).status).toBe(200);
  });

  it('does not serve the default base path', async () => {
    const { send } = await setup(transport, { basePath: '/progress-api' });
    expect((await send('/api/v1/websocket/stats')).status).toBe(404);
  });
});
