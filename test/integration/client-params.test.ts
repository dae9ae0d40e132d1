/**
 * `params` as a function (expiring tokens) against the real server: the server's
 * `authenticate` sees a fresh token on every upgrade and every REST call.
 */
import type { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProgressClient, type ProgressClientOptions, type ReconnectedEvent } from '../../src/client/index.js';
import type { Identity } from '../../src/server/index.js';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { waitUntil } from '../helpers/wait.js';

let t: TestServer;
let clients: ProgressClient[] = [];
/** The `token` query parameter of each request `authenticate` saw, per kind of request. */
let seen: { websocket: Array<string | null>; http: Array<string | null> };
/** Server-side sockets of the upgrades, to cut them. */
let sockets: Set<Duplex>;

function createClient(options: Partial<ProgressClientOptions>): ProgressClient {
  const client = new ProgressClient({
    url: t.wsUrl(),
    backoff: { initialDelayMs: 20, maxDelayMs: 200 },
    heartbeatIntervalMs: 0,
    connectTimeoutMs: 2_000,
    ...options,
  });
  clients.push(client);
  return client;
}

/** A token source like an app's: `t1`, `t2`, ... one per call, after an async round trip. */
function tokenSource() {
  let issued = 0;
  return {
    get issued() {
      return issued;
    },
    params: async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      issued++;
      return { token: `t${issued}` };
    },
  };
}

beforeEach(async () => {
  seen = { websocket: [], http: [] };
  sockets = new Set();
  t = await startServer({
    heartbeat: { intervalMs: 0 },
    // Accepts any token `t<n>`; records each one.
    authenticate: (request): Identity | null => {
      const token = request.url.searchParams.get('token');
      seen[request.kind].push(token);
      return token?.startsWith('t') ? { userId: 'alice', projectId: '' } : null;
    },
  });
  t.httpServer.on('upgrade', (_req, socket: Duplex) => sockets.add(socket));
});

afterEach(async () => {
  for (const client of clients) client.close();
  clients = [];
  await t.close();
});

describe('params as a function', () => {
  it('is called once per connection attempt, so the server sees a fresh token on every reconnect', async () => {
    const tokens = tokenSource();
    const client = createClient({ params: tokens.params });
    const reconnected: ReconnectedEvent[] = [];
    client.on('reconnected', (event) => reconnected.push(event));
    await waitUntil(() => client.state === 'open', 5_000, 'the first connection');
    for (let cut = 1; cut <= 2; cut++) {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await waitUntil(() => reconnected.length === cut, 5_000, `reconnect #${cut}`);
    }
    expect(seen.websocket).toEqual(['t1', 't2', 't3']);
    expect(tokens.issued).toBe(3);
    // The session resumed each time: the new token did not cost the client its subscriptions.
    expect(reconnected.map((event) => event.resumed)).toEqual([true, true]);
  });

  it('is called for each history() request', async () => {
    const tokens = tokenSource();
    const client = createClient({ params: tokens.params, autoConnect: false });
    await t.server.publish('job', { progress: 10 });
    await t.server.publish('job', { progress: 20 });
    const first = await client.history('job');
    const second = await client.history('job', { source: 'database', limit: 1 });
    expect(first.history.map((entry) => entry.seq)).toEqual([1, 2]);
    expect(second.history.map((entry) => entry.seq)).toEqual([2]);
    expect(seen.http).toEqual(['t1', 't2']);
    expect(seen.websocket).toEqual([]);
  });

  it('rejects history() with what params threw, without a request', async () => {
    const failure = new Error('token service down');
    const client = createClient({
      autoConnect: false,
      params: () => {
        throw failure;
      },
    });
    await expect(client.history('job')).rejects.toBe(failure);
    expect(seen.http).toEqual([]);
  });

  it('retries after a rejected params with backoff, and connects once it resolves', async () => {
    let calls = 0;
    const client = createClient({
      params: async () => {
        calls++;
        if (calls < 3) throw new Error(`token service down (${calls})`);
        return { token: 't-ok' };
      },
    });
    const errors: unknown[] = [];
    client.on('error', (event) => errors.push(event));
    await waitUntil(() => client.state === 'open', 5_000, 'the connection');
    expect(calls).toBe(3);
    expect(seen.websocket).toEqual(['t-ok']);
    expect(errors).toMatchObject([
      { source: 'client', code: 'PARAMS_FAILED', message: 'params() failed: Error: token service down (1)' },
      { source: 'client', code: 'PARAMS_FAILED', message: 'params() failed: Error: token service down (2)' },
    ]);
  });
});
