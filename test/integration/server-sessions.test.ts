import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { connectRaw, type RawClient, seqsOf } from '../helpers/raw-client.js';

let t: TestServer;
const clients: RawClient[] = [];
const connect = async (query: string): Promise<RawClient> => {
  const client = await connectRaw(t.wsUrl(query));
  clients.push(client);
  await client.waitFor((m) => m.type === 'connected' || m.type === 'reconnected');
  return client;
};
const subscribe = async (client: RawClient, taskId: string) => {
  client.send({ action: 'subscribe', task_id: taskId });
  return client.waitFor((m) => m.type === 'subscribed' && m.task_id === taskId);
};

beforeEach(async () => {
  t = await startServer({ heartbeat: { intervalMs: 0 }, sessionTtlMs: 60_000 });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await t.close();
});

describe('session resume', () => {
  it('keeps the client id, restores subscriptions and replays missed events in order', async () => {
    const first = await connect('user_id=alice');
    const clientId = first.messages[0]!.payload.client_id;
    await subscribe(first, 'job-1');
    await subscribe(first, 'job-2');
    await t.server.publish('job-1', { progress: 10 });
    await first.waitFor((m) => m.task_id === 'job-1' && m.seq === 1);
    await first.close();
    // Published while the client is away.
    await t.server.publish('job-1', { progress: 20 });
    await t.server.publish('job-2', { progress: 5 });
    await t.server.setStatus('job-1', 'completed');

    const second = await connect(`user_id=alice&old_client_id=${clientId}`);
    const reconnected = second.messages[0]!;
    expect(Object.keys(reconnected.payload)).toEqual([
      'client_id',
      'old_client_id',
      'message',
      'subscribed',
      'timestamp',
      'resumed',
    ]);
    expect(reconnected.payload).toMatchObject({
      client_id: clientId,
      old_client_id: clientId,
      subscribed: { 'job-1': true, 'job-2': true },
      resumed: true,
    });
    await second.waitFor((m) => m.task_id === 'job-1' && m.type === 'status');
    await second.waitFor((m) => m.task_id === 'job-2' && m.seq === 1);
    expect(seqsOf(second, 'job-1')).toEqual([2, 3]);
    expect(seqsOf(second, 'job-2')).toEqual([1]);
    // Live events keep flowing to the resumed session.
    await t.server.publish('job-2', { progress: 6 });
    await second.waitFor((m) => m.task_id === 'job-2' && m.seq === 2);
  });

  it('sends only the events lost in flight when a resumed client asks since its last seq', async () => {
    const first = await connect('user_id=alice');
    const clientId = first.messages[0]!.payload.client_id;
    await subscribe(first, 'lost');
    for (let i = 1; i <= 6; i++) await t.server.publish('lost', { progress: i });
    await first.waitFor((m) => m.seq === 6);
    await first.close();
    // Pretend 4..6 died in flight: the session's position is 6, the client's is 3.
    await t.server.publish('lost', { progress: 7 });
    await t.server.publish('lost', { progress: 8 });
    const second = await connect(`user_id=alice&old_client_id=${clientId}`);
    second.send({ action: 'subscribe', task_id: 'lost', since: 3 });
    await second.waitForCount((m) => m.task_id === 'lost' && typeof m.seq === 'number', 5);
    await t.server.publish('lost', { progress: 9 });
    await second.waitFor((m) => m.seq === 9);
    const seqs = seqsOf(second, 'lost');
    expect([...seqs].sort((a, b) => a - b)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(seqs.at(-1)).toBe(9);
  });

  it('only confirms when a resumed client lost nothing in flight: no event is sent twice', async () => {
    const first = await connect('user_id=alice');
    const clientId = first.messages[0]!.payload.client_id;
    await subscribe(first, 'whole');
    for (let i = 1; i <= 3; i++) await t.server.publish('whole', { progress: i });
    await first.waitFor((m) => m.seq === 3);
    await first.close();
    await t.server.publish('whole', { progress: 4 });
    const second = await connect(`user_id=alice&old_client_id=${clientId}`);
    // The client's position is the session's: 3.
    second.send({ action: 'subscribe', task_id: 'whole', since: 3 });
    const confirmed = await second.waitFor((m) => m.type === 'subscribed' && m.task_id === 'whole');
    expect(confirmed.payload.recovered).toBe(true);
    await t.server.publish('whole', { progress: 5 });
    await second.waitFor((m) => m.seq === 5);
    expect(second.messages.map((m) => `${m.type}:${m.seq ?? ''}`)).toEqual([
      'reconnected:',
      'progress:4',
      'subscribed:',
      'progress:5',
    ]);
  });

  it('resumes through the /reconnect endpoint as the seed documents', async () => {
    const first = await connect('user_id=bob');
    const clientId = first.messages[0]!.payload.client_id;
    await subscribe(first, 't');
    await first.close();
    const client = await connectRaw(
      `ws://127.0.0.1:${t.port}/api/v1/ws/reconnect?user_id=bob&old_client_id=${clientId}`,
    );
    clients.push(client);
    const reconnected = await client.waitFor(() => true);
    expect(reconnected).toMatchObject({
      type: 'reconnected',
      payload: { client_id: clientId, resumed: true },
    });
  });

  it('refuses to resume another user’s session and gives a new id instead', async () => {
    const victim = await connect('user_id=alice');
    const clientId = victim.messages[0]!.payload.client_id;
    await subscribe(victim, 'secret');
    await victim.close();
    const attacker = await connect(`user_id=mallory&old_client_id=${clientId}`);
    const reply = attacker.messages[0]!;
    expect(reply.type).toBe('reconnected');
    expect(reply.payload.resumed).toBe(false);
    expect(reply.payload.reason).toBe('SESSION_NOT_FOUND');
    expect(reply.payload.client_id).not.toBe(clientId);
    expect(reply.payload.subscribed).toEqual({});
    await t.server.publish('secret', { progress: 1 });
    // The rightful owner can still resume afterwards.
    const owner = await connect(`user_id=alice&old_client_id=${clientId}`);
    expect(owner.messages[0]!.payload).toMatchObject({ client_id: clientId, resumed: true });
    await owner.waitFor((m) => m.task_id === 'secret' && m.seq === 1);
    expect(seqsOf(attacker, 'secret')).toEqual([]);
  });

  it('refuses to take over another user’s live connection', async () => {
    const victim = await connect('user_id=alice');
    const clientId = victim.messages[0]!.payload.client_id;
    const attacker = await connect(`user_id=mallory&old_client_id=${clientId}`);
    expect(attacker.messages[0]!.payload.resumed).toBe(false);
    victim.send({ type: 'ping' });
    await victim.waitFor((m) => m.type === 'pong');
  });

  it('says plainly that an unknown session was not resumed', async () => {
    const client = await connect('user_id=u&old_client_id=client-doesnotexist');
    expect(client.messages[0]!.payload).toMatchObject({
      old_client_id: 'client-doesnotexist',
      resumed: false,
      reason: 'SESSION_NOT_FOUND',
      subscribed: {},
    });
    expect(client.messages[0]!.payload.client_id).toMatch(/^client-/);
  });

  it('does not resume a session past its TTL', async () => {
    await t.close();
    t = await startServer({ heartbeat: { intervalMs: 0 }, sessionTtlMs: 1 });
    const first = await connect('user_id=u');
    const clientId = first.messages[0]!.payload.client_id;
    await first.close();
    const deadline = Date.now() + 1_000;
    while ((await t.storage.getSession(clientId, Date.now())) !== null && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const second = await connect(`user_id=u&old_client_id=${clientId}`);
    expect(second.messages[0]!.payload.resumed).toBe(false);
  });

  it('hands a still-open session over to the resuming socket of the same user', async () => {
    const first = await connect('user_id=alice');
    const clientId = first.messages[0]!.payload.client_id;
    await subscribe(first, 'h');
    await t.server.publish('h', { progress: 1 });
    await first.waitFor((m) => m.seq === 1);
    const second = await connect(`user_id=alice&old_client_id=${clientId}`);
    expect(second.messages[0]!.payload).toMatchObject({
      client_id: clientId,
      resumed: true,
      subscribed: { h: true },
    });
    expect((await first.closed).code).toBe(1000);
    await t.server.publish('h', { progress: 2 });
    await second.waitFor((m) => m.seq === 2);
    expect(seqsOf(second, 'h')).toEqual([2]);
  });

  it('keeps sessions of every connection on close() so clients can resume after a restart on shared storage', async () => {
    const client = await connect('user_id=u');
    const clientId = client.messages[0]!.payload.client_id;
    await subscribe(client, 'r');
    await t.server.publish('r', { progress: 1 });
    await client.waitFor((m) => m.seq === 1);
    const storage = t.storage;
    await t.server.close();
    expect(await storage.getSession(clientId, Date.now())).toMatchObject({
      clientId,
      userId: 'u',
      subscriptions: { r: 1 },
    });
  });

  it('writes connection audit records with connect and disconnect times', async () => {
    const client = await connect('user_id=aud&project_id=p9');
    const clientId = client.messages[0]!.payload.client_id;
    expect(await t.storage.getConnection(clientId)).toMatchObject({
      clientId,
      userId: 'aud',
      projectId: 'p9',
      disconnectedAtMs: null,
      ipAddress: '127.0.0.1',
    });
    await client.close();
    const deadline = Date.now() + 2_000;
    while ((await t.storage.getConnection(clientId))?.disconnectedAtMs === null && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await t.storage.getConnection(clientId))!.disconnectedAtMs).toBeTypeOf('number');
  });
});

describe('stats', () => {
  it('counts connected clients by user and project', async () => {
    await connect('user_id=a&project_id=p1');
    await connect('user_id=a&project_id=p2');
    await connect('user_id=b');
    expect(t.server.stats()).toEqual({
      totalClients: 3,
      byUser: { a: 2, b: 1 },
      byProject: { p1: 1, p2: 1 },
    });
  });
});

describe('draining for a rolling deploy', () => {
  it('closes sockets with 1012 spread over drainMs, refuses new upgrades meanwhile, and keeps sessions', async () => {
    const sockets = await Promise.all(Array.from({ length: 8 }, () => connect('user_id=d')));
    const closedAt: number[] = [];
    const started = Date.now();
    for (const socket of sockets) void socket.closed.then(() => closedAt.push(Date.now() - started));
    const storage = t.storage;
    const closing = t.server.close({ drainMs: 400 });
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(t.wsUrl('user_id=late'));
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
    });
    expect(refused).toBe(503);
    const codes = await Promise.all(sockets.map(async (socket) => (await socket.closed).code));
    await closing;
    expect(codes).toEqual(Array(8).fill(1012));
    expect(Math.max(...closedAt) - Math.min(...closedAt)).toBeGreaterThan(50);
    expect(Math.max(...closedAt)).toBeLessThan(2_000);
    const firstId = sockets[0]!.messages[0]!.payload.client_id as string;
    expect(await storage.getSession(firstId, Date.now())).toMatchObject({ clientId: firstId, userId: 'd' });
  });
});
