/**
 * `ProgressClient` against the real server, with connections cut for real: from the server
 * side, from the network side (a TCP proxy), half-open, with events lost in flight, across a
 * server restart and a page reload. Each test ends with the exact sequence per task.
 */
import type { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type DisconnectedEvent,
  type PersistStorage,
  ProgressClient,
  type ProgressClientOptions,
  type ReconnectedEvent,
} from '../../src/client/index.js';
import { createMemoryStorage, createProgressServer, type ProgressServer } from '../../src/server/index.js';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { connectRaw, type RawClient } from '../helpers/raw-client.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitUntil } from '../helpers/wait.js';

let t: TestServer;
let proxy: TcpProxy;
let clients: ProgressClient[] = [];
const raws: RawClient[] = [];
const extraServers: ProgressServer[] = [];

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Fast reconnects and heartbeat, so that every recovery happens within a test's time. */
const FAST: Partial<ProgressClientOptions> = {
  backoff: { initialDelayMs: 20, maxDelayMs: 200 },
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 1_000,
  connectTimeoutMs: 2_000,
};

function createClient(
  options: Partial<ProgressClientOptions> = {},
  via: 'proxy' | 'direct' = 'proxy',
): ProgressClient {
  const port = via === 'proxy' ? proxy.port : t.port;
  const client = new ProgressClient({
    url: `ws://127.0.0.1:${port}/api/v1/ws`,
    userId: 'alice',
    ...FAST,
    ...options,
  });
  clients.push(client);
  return client;
}

/** What the app saw: task events (not snapshots) per task, terminal statuses, reconnects. */
function track(client: ProgressClient) {
  const seqs = new Map<string, number[]>();
  const complete = new Map<string, string>();
  const reconnected: ReconnectedEvent[] = [];
  const disconnected: DisconnectedEvent[] = [];
  const subscribed = new Set<string>();
  const push = (taskId: string, seq: number): void => {
    seqs.set(taskId, [...(seqs.get(taskId) ?? []), seq]);
  };
  client.on('progress', (event) => {
    if (!event.snapshot) push(event.taskId, event.seq);
  });
  client.on('status', (event) => push(event.taskId, event.seq));
  client.on('error', (event) => {
    if (event.source === 'task') push(event.taskId, event.seq);
  });
  client.on('complete', (event) => complete.set(event.taskId, event.status));
  client.on('reconnected', (event) => reconnected.push(event));
  client.on('disconnected', (event) => disconnected.push(event));
  client.on('subscribed', (event) => subscribed.add(event.taskId));
  return {
    seqs: (taskId: string) => seqs.get(taskId) ?? [],
    complete,
    reconnected,
    disconnected,
    subscribed,
  };
}

async function publish(taskId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++)
    await t.server.publish(taskId, { progress: i % 100, message: `${taskId} #${i}` });
}

beforeEach(async () => {
  t = await startServer(
    { heartbeat: { intervalMs: 0 }, sessionTtlMs: 60_000 },
    createMemoryStorage({ retention: { maxEventsPerTask: 10_000 } }),
  );
  proxy = await startTcpProxy(t.port);
});

afterEach(async () => {
  for (const client of clients) client.close();
  clients = [];
  await Promise.all(raws.splice(0).map((raw) => raw.close()));
  await Promise.all(extraServers.splice(0).map((server) => server.close()));
  await proxy.close();
  await t.close();
});

describe('ProgressClient against the real server', () => {
  it('delivers each task event once, in order, with the final status', async () => {
    const client = createClient();
    const seen = track(client);
    client.subscribe('job');
    await waitUntil(() => seen.subscribed.has('job'), 5_000, 'subscribed');
    await publish('job', 10);
    await t.server.reportError('job', { stepId: 's1', error: 'flaky step' });
    await t.server.setStatus('job', 'completed', { result: { ok: true } });
    await waitUntil(() => seen.complete.has('job'), 5_000, 'complete');
    expect(seen.seqs('job')).toEqual(range(1, 12));
    expect(client.task('job')).toMatchObject({
      seq: 12,
      status: 'completed',
      result: { ok: true },
      lastError: { step_id: 's1' },
    });
  });

  it('recovers what was published while the network was cut, and reconnected carries the old subscriptions', async () => {
    const client = createClient();
    const seen = track(client);
    client.subscribe('a');
    client.subscribe('b');
    await waitUntil(() => seen.subscribed.size === 2, 5_000, 'subscribed');
    const clientId = client.clientId;
    await publish('a', 5);
    await publish('b', 5);
    await waitUntil(() => seen.seqs('a').length === 5 && seen.seqs('b').length === 5, 5_000, 'first events');

    proxy.down();
    await waitUntil(
      () => client.state === 'reconnecting' && t.server.stats().totalClients === 0,
      5_000,
      'the cut',
    );
    await publish('a', 10);
    await publish('b', 10);
    await t.server.setStatus('a', 'completed');
    await t.server.setStatus('b', 'failed', { error: 'disk full' });
    proxy.restore();

    await waitUntil(() => seen.complete.size === 2, 10_000, 'both tasks complete');
    expect(seen.seqs('a')).toEqual(range(1, 16));
    expect(seen.seqs('b')).toEqual(range(1, 16));
    expect([...seen.complete]).toEqual([
      ['a', 'completed'],
      ['b', 'failed'],
    ]);
    expect(client.task('b')).toMatchObject({ status: 'failed', error: 'disk full' });
    expect(seen.reconnected[0]).toEqual({
      clientId,
      oldClientId: clientId,
      resumed: true,
      reason: undefined,
      subscriptions: ['a', 'b'],
    });
  });

  it('re-subscribes from its last seen seq when the session expired, and still misses nothing', async () => {
    await proxy.close();
    await t.close();
    t = await startServer({ heartbeat: { intervalMs: 0 }, sessionTtlMs: 1 });
    proxy = await startTcpProxy(t.port);
    const client = createClient();
    const seen = track(client);
    client.subscribe('late');
    await waitUntil(() => seen.subscribed.has('late'), 5_000, 'subscribed');
    const oldClientId = client.clientId;
    await publish('late', 3);
    await waitUntil(() => seen.seqs('late').length === 3, 5_000, 'first events');

    proxy.down();
    await waitUntil(() => t.server.stats().totalClients === 0, 5_000, 'the cut');
    await publish('late', 4);
    await t.server.setStatus('late', 'completed');
    proxy.restore();

    await waitUntil(() => seen.complete.has('late'), 10_000, 'complete');
    expect(seen.seqs('late')).toEqual(range(1, 8));
    expect(seen.reconnected[0]).toMatchObject({
      oldClientId,
      resumed: false,
      reason: 'SESSION_NOT_FOUND',
      subscriptions: ['late'],
    });
    expect(seen.reconnected[0]!.clientId).not.toBe(oldClientId);
    expect(client.task('late')?.recovered).toBe(true);
  });

  it('recovers when the server drops the socket again and again mid-stream', async () => {
    const serverSockets = new Set<Duplex>();
    t.httpServer.on('upgrade', (_req, socket: Duplex) => serverSockets.add(socket));
    const client = createClient({}, 'direct');
    const seen = track(client);
    client.subscribe('stream');
    await waitUntil(() => seen.subscribed.has('stream'), 5_000, 'subscribed');
    for (let round = 0; round < 8; round++) {
      await publish('stream', 25);
      for (const socket of serverSockets) socket.destroy();
      serverSockets.clear();
    }
    await t.server.setStatus('stream', 'completed');
    await waitUntil(() => seen.complete.has('stream'), 10_000, 'complete');
    expect(seen.seqs('stream')).toEqual(range(1, 201));
    expect(seen.disconnected.length).toBeGreaterThanOrEqual(1);
    expect(seen.reconnected.every((event) => event.subscriptions.join() === 'stream')).toBe(true);
  });

  it('recovers events lost in flight, even when the server believes it delivered them', async () => {
    const client = createClient();
    const seen = track(client);
    client.subscribe('tail');
    await waitUntil(() => seen.subscribed.has('tail'), 5_000, 'subscribed');
    const clientId = client.clientId!;
    await publish('tail', 2);
    await waitUntil(() => seen.seqs('tail').length === 2, 5_000, 'first events');

    // The server writes the rest, the status included, into a path that loses it.
    proxy.blackhole('to-client');
    await publish('tail', 3);
    await t.server.setStatus('tail', 'completed');
    await waitUntil(
      () => proxy.droppedToClientText.includes('"status":"completed"'),
      5_000,
      'the status lost in flight',
    );
    // Down, not just cut: the client must not resume before the saved session is read.
    proxy.down();
    await waitUntil(
      async () => (await t.storage.getSession(clientId, Date.now())) !== null,
      5_000,
      'the saved session',
    );
    // The server's position is past everything the client has seen: nothing left to replay from there.
    expect((await t.storage.getSession(clientId, Date.now()))?.subscriptions).toEqual({ tail: 6 });
    proxy.restore();

    await waitUntil(() => seen.complete.has('tail'), 10_000, 'complete');
    expect(seen.seqs('tail')).toEqual(range(1, 6));
    expect(seen.reconnected[0]).toMatchObject({ resumed: true, clientId });
  });

  it('detects a half-open connection with its heartbeat and recovers everything', async () => {
    const client = createClient({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 200, connectTimeoutMs: 300 });
    const seen = track(client);
    client.subscribe('quiet');
    await waitUntil(() => seen.subscribed.has('quiet'), 5_000, 'subscribed');
    await publish('quiet', 3);
    await waitUntil(() => seen.seqs('quiet').length === 3, 5_000, 'first events');

    proxy.blackhole();
    await publish('quiet', 3);
    await waitUntil(
      () => seen.disconnected.some((event) => event.reason === 'heartbeat timeout'),
      5_000,
      'the heartbeat verdict',
    );
    await t.server.setStatus('quiet', 'cancelled');
    proxy.restore();

    await waitUntil(() => seen.complete.has('quiet'), 10_000, 'complete');
    expect(seen.seqs('quiet')).toEqual(range(1, 7));
    expect(seen.complete.get('quiet')).toBe('cancelled');
  });

  it('resumes on a restarted server (1001 going away) from the session it saved', async () => {
    const client = createClient({}, 'direct');
    const seen = track(client);
    client.subscribe('deploy');
    await waitUntil(() => seen.subscribed.has('deploy'), 5_000, 'subscribed');
    await publish('deploy', 3);
    await waitUntil(() => seen.seqs('deploy').length === 3, 5_000, 'first events');

    await t.server.close();
    await waitUntil(() => seen.disconnected.length === 1, 5_000, 'the going-away close');
    expect(seen.disconnected[0]).toMatchObject({ code: 1001, willReconnect: true });
    const restarted = createProgressServer(t.httpServer, t.storage, { heartbeat: { intervalMs: 0 } });
    extraServers.push(restarted);
    for (let i = 0; i < 3; i++) await restarted.publish('deploy', { progress: 50 + i });
    await restarted.setStatus('deploy', 'completed');

    await waitUntil(() => seen.complete.has('deploy'), 10_000, 'complete');
    expect(seen.seqs('deploy')).toEqual(range(1, 7));
    expect(seen.reconnected[0]).toMatchObject({ resumed: true, clientId: client.clientId });
  });

  it('says recovered: false and converges to the latest state when history was trimmed', async () => {
    await t.close();
    t = await startServer(
      { heartbeat: { intervalMs: 0 } },
      createMemoryStorage({ retention: { maxEventsPerTask: 5 } }),
    );
    await proxy.close();
    proxy = await startTcpProxy(t.port);
    const client = createClient();
    const seen = track(client);
    const recoveries: Array<{ seq: number; progress: number | undefined }> = [];
    client.on('recovery', (event) =>
      recoveries.push({ seq: event.seq, progress: event.state.latest?.progress }),
    );
    client.subscribe('long');
    await waitUntil(() => seen.subscribed.has('long'), 5_000, 'subscribed');
    await publish('long', 2);
    await waitUntil(() => seen.seqs('long').length === 2, 5_000, 'first events');

    proxy.down();
    await waitUntil(() => t.server.stats().totalClients === 0, 5_000, 'the cut');
    for (let i = 0; i < 20; i++) await t.server.publish('long', { progress: 10 + i });
    proxy.restore();
    await waitUntil(() => recoveries.length === 1, 10_000, 'the recovery event');
    await t.server.setStatus('long', 'completed');
    await waitUntil(() => seen.complete.has('long'), 5_000, 'complete');

    expect(recoveries).toEqual([{ seq: 22, progress: 29 }]);
    expect(seen.seqs('long')).toEqual([1, 2, 23]);
    expect(client.task('long')).toMatchObject({ seq: 23, recovered: false, status: 'completed' });
  });

  it('resumes after a page reload with persisted state, without a gap', async () => {
    const items = new Map<string, string>();
    const storage: PersistStorage = {
      getItem: (key) => items.get(key) ?? null,
      setItem: (key, value) => void items.set(key, value),
    };
    const before = createClient({ persist: storage });
    const seenBefore = track(before);
    before.subscribe('upload');
    await waitUntil(() => seenBefore.subscribed.has('upload'), 5_000, 'subscribed');
    await publish('upload', 4);
    await waitUntil(
      () => items.size === 1 && JSON.parse([...items.values()][0]!).tasks.upload.state.seq === 4,
      5_000,
      'persisted',
    );
    // The page goes away: its socket dies, events keep coming.
    proxy.down();
    before.close();
    await waitUntil(() => t.server.stats().totalClients === 0, 5_000, 'the old page gone');
    await publish('upload', 3);
    await t.server.setStatus('upload', 'completed');
    proxy.restore();

    const after = createClient({ persist: storage });
    const seenAfter = track(after);
    const connected: unknown[] = [];
    after.on('connected', (event) => connected.push(event));
    const handle = after.subscribe('upload');
    expect(handle.state.seq).toBe(4);
    await waitUntil(() => seenAfter.complete.has('upload'), 10_000, 'complete');
    expect(seenBefore.seqs('upload')).toEqual(range(1, 4));
    expect(seenAfter.seqs('upload')).toEqual(range(5, 8));
    expect(connected).toEqual([{ clientId: before.clientId, resumed: true }]);
  });

  it('refuses another user a session by its id (hijack attempt)', async () => {
    const alice = createClient({}, 'direct');
    const seen = track(alice);
    alice.subscribe('secret');
    await waitUntil(() => seen.subscribed.has('secret'), 5_000, 'subscribed');
    const aliceId = alice.clientId!;
    alice.close();
    await waitUntil(
      async () => (await t.storage.getSession(aliceId, Date.now())) !== null,
      5_000,
      'the saved session',
    );

    const mallory = await connectRaw(t.wsUrl(`user_id=mallory&old_client_id=${encodeURIComponent(aliceId)}`));
    raws.push(mallory);
    const greeting = await mallory.waitFor((m) => m.type === 'reconnected');
    expect(greeting.payload).toMatchObject({
      old_client_id: aliceId,
      resumed: false,
      reason: 'SESSION_NOT_FOUND',
      subscribed: {},
    });
    expect(greeting.payload.client_id).not.toBe(aliceId);
    await t.server.publish('secret', { progress: 1 });
    mallory.send({ type: 'ping' });
    await mallory.waitFor((m) => m.type === 'pong');
    expect(mallory.messages.filter((m) => m.task_id === 'secret')).toEqual([]);
    // The session is still Alice's to resume.
    expect(await t.storage.getSession(aliceId, Date.now())).toMatchObject({
      userId: 'alice',
      subscriptions: { secret: 0 },
    });
  });

  it('reads the REST history, and rejects with the server code on a bad request', async () => {
    const client = createClient({}, 'direct');
    await publish('hist', 3);
    const memory = await client.history('hist', { limit: 2 });
    expect(memory.source).toBe('memory');
    expect(memory.history.map((entry) => entry.seq)).toEqual([2, 3]);
    const database = await client.history('hist', { source: 'database', afterSeq: 1 });
    expect(database).toMatchObject({ taskId: 'hist', source: 'database' });
    expect(database.history.map((entry) => [entry.type, entry.seq])).toEqual([
      ['progress', 2],
      ['progress', 3],
    ]);
    await expect(client.history('hist', { limit: 5_000 })).rejects.toMatchObject({
      code: 'INVALID_PARAMETER',
    });
  });

  it('stops for good when the server refuses the upgrade with 401', async () => {
    await t.close();
    t = await startServer({ heartbeat: { intervalMs: 0 }, authenticate: () => null });
    const client = createClient({}, 'direct');
    const seen = track(client);
    await waitUntil(() => client.state === 'closed', 5_000, 'closed');
    expect(seen.disconnected).toEqual([
      { code: 4001, reason: 'Unexpected server response: 401', willReconnect: false },
    ]);
  });

  it('leaves no connection on the server after close()', async () => {
    const client = createClient({}, 'direct');
    client.subscribe('x');
    await waitUntil(() => client.state === 'open', 5_000, 'open');
    expect(t.server.stats().totalClients).toBe(1);
    client.close();
    await waitUntil(() => t.server.stats().totalClients === 0, 5_000, 'the server to see the close');
    expect(client.state).toBe('closed');
  });
});
