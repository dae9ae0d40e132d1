import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { connectRaw, type RawClient, seqsOf } from '../helpers/raw-client.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

let t: TestServer;
const clients: RawClient[] = [];
const connect = async (query = 'user_id=u1&project_id=p1'): Promise<RawClient> => {
  const client = await connectRaw(t.wsUrl(query));
  clients.push(client);
  await client.waitFor((m) => m.type === 'connected' || m.type === 'reconnected');
  return client;
};
const subscribe = async (client: RawClient, taskId: string, since?: number) => {
  client.send(
    since === undefined
      ? { action: 'subscribe', task_id: taskId }
      : { action: 'subscribe', task_id: taskId, since },
  );
  return client.waitFor((m) => m.type === 'subscribed' && m.task_id === taskId);
};

beforeEach(async () => {
  t = await startServer({ heartbeat: { intervalMs: 0 } });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await t.close();
});

describe('seed message shapes', () => {
  it('greets with connected carrying client_id, message and an RFC 3339 timestamp', async () => {
    const client = await connect();
    const connected = client.messages[0]!;
    expect(Object.keys(connected)).toEqual(['type', 'task_id', 'payload']);
    expect(connected.task_id).toBe('');
    expect(Object.keys(connected.payload)).toEqual(['client_id', 'message', 'timestamp']);
    expect(connected.payload.client_id).toMatch(
      /^client-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(connected.payload.timestamp).toMatch(RFC3339);
  });

  it('gives every connection a different unguessable client id', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add((await connect()).messages[0]!.payload.client_id);
    expect(ids.size).toBe(5);
  });

  it('answers subscribe with subscribed listing the topics', async () => {
    const client = await connect();
    const first = await subscribe(client, 'task-001');
    expect(first).toEqual({ type: 'subscribed', task_id: 'task-001', payload: { topics: ['task-001'] } });
    const second = await subscribe(client, 'task-002');
    expect(second.payload.topics).toEqual(['task-001', 'task-002']);
  });

  it('sends progress, status and error events with the seed payload fields and seq', async () => {
    const client = await connect();
    await subscribe(client, 'task-001');
    await t.server.publish('task-001', {
      progress: 45,
      currentStep: '处理视频片段',
      totalSteps: 10,
      completedSteps: 4,
      message: '正在处理第4个片段...',
    });
    await t.server.reportError('task-001', { stepId: 'step-3', error: '处理失败：网络超时' });
    await t.server.setStatus('task-001', 'completed', { result: { output: '...' } });
    const [progress, error, status] = await client.waitForCount(
      (m) => m.task_id === 'task-001' && m.seq !== undefined,
      3,
    );
    expect(Object.keys(progress!)).toEqual(['type', 'task_id', 'seq', 'payload']);
    expect(progress).toMatchObject({ type: 'progress', seq: 1 });
    expect(Object.keys(progress!.payload)).toEqual([
      'task_id',
      'progress',
      'current_step',
      'total_steps',
      'completed_steps',
      'message',
      'status',
      'timestamp',
    ]);
    expect(progress!.payload).toMatchObject({
      task_id: 'task-001',
      progress: 45,
      current_step: '处理视频片段',
      total_steps: 10,
      completed_steps: 4,
      message: '正在处理第4个片段...',
      status: 'running',
    });
    expect(error).toMatchObject({ type: 'error', seq: 2 });
    expect(Object.keys(error!.payload)).toEqual(['execution_id', 'step_id', 'error', 'timestamp']);
    expect(error!.payload).toMatchObject({
      execution_id: 'task-001',
      step_id: 'step-3',
      error: '处理失败：网络超时',
    });
    expect(status).toMatchObject({ type: 'status', seq: 3 });
    expect(Object.keys(status!.payload)).toEqual(['task_id', 'status', 'error', 'result', 'timestamp']);
    expect(status!.payload).toMatchObject({
      task_id: 'task-001',
      status: 'completed',
      error: '',
      result: { output: '...' },
    });
  });

  it('answers ping with pong carrying unix seconds', async () => {
    const client = await connect();
    const before = Math.floor(Date.now() / 1000);
    client.send({ type: 'ping' });
    const pong = await client.waitFor((m) => m.type === 'pong');
    expect(Object.keys(pong)).toEqual(['type', 'task_id', 'payload']);
    expect(pong.payload.timestamp).toBeGreaterThanOrEqual(before);
    expect(pong.payload.timestamp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it('answers unsubscribe with unsubscribed and stops delivery of that task', async () => {
    const client = await connect();
    await subscribe(client, 'a');
    await subscribe(client, 'b');
    await t.server.publish('a', { progress: 1 });
    await client.waitFor((m) => m.task_id === 'a' && m.seq === 1);
    client.send({ action: 'unsubscribe', task_id: 'a' });
    expect(await client.waitFor((m) => m.type === 'unsubscribed')).toEqual({
      type: 'unsubscribed',
      task_id: 'a',
      payload: { topics: ['b'] },
    });
    await t.server.publish('a', { progress: 2 });
    await t.server.publish('b', { progress: 1 });
    await client.waitFor((m) => m.task_id === 'b' && m.seq === 1);
    expect(seqsOf(client, 'a')).toEqual([1]);
  });
});

describe('sequence numbers', () => {
  it('numbers events 1..N per task with two tasks interleaved', async () => {
    const client = await connect();
    await subscribe(client, 'x');
    await subscribe(client, 'y');
    for (let i = 1; i <= 10; i++) {
      await t.server.publish('x', { progress: i });
      if (i % 2 === 0) await t.server.publish('y', { progress: i });
    }
    await t.server.setStatus('y', 'completed');
    await client.waitFor((m) => m.task_id === 'y' && m.type === 'status');
    await client.waitFor((m) => m.task_id === 'x' && m.seq === 10);
    expect(seqsOf(client, 'x')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(seqsOf(client, 'y')).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('gives concurrent publishes of one task distinct consecutive seqs', async () => {
    const receipts = await Promise.all(
      Array.from({ length: 50 }, (_, i) => t.server.publish('c', { progress: i % 101 })),
    );
    expect(receipts.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
  });
});

describe('late subscribers and replay', () => {
  it('sends a late subscriber the latest state as a snapshot', async () => {
    await t.server.publish('late', { progress: 30, currentStep: 'encode', totalSteps: 3, completedSteps: 1 });
    await t.server.publish('late', { progress: 60, currentStep: 'upload', totalSteps: 3, completedSteps: 2 });
    const client = await connect();
    await subscribe(client, 'late');
    const snapshot = await client.waitFor((m) => m.snapshot === true);
    expect(snapshot).toMatchObject({
      type: 'progress',
      task_id: 'late',
      seq: 2,
      snapshot: true,
      payload: { progress: 60, current_step: 'upload', completed_steps: 2, status: 'running' },
    });
  });

  it('sends no snapshot for an unknown task', async () => {
    const client = await connect();
    await subscribe(client, 'nothing-yet');
    await t.server.publish('nothing-yet', { progress: 5 });
    await client.waitFor((m) => m.task_id === 'nothing-yet' && m.seq === 1);
    expect(client.messages.filter((m) => m.snapshot)).toEqual([]);
  });

  it('replays events after since, then live ones, exactly once while publishes race the replay', async () => {
    for (let i = 1; i <= 40; i++) await t.server.publish('race', { progress: i });
    const client = await connect();
    client.send({ action: 'subscribe', task_id: 'race', since: 10 });
    // Publish concurrently with the replay, without waiting for the subscription.
    const publishing = (async () => {
      for (let i = 41; i <= 100; i++) await t.server.publish('race', { progress: i });
    })();
    await publishing;
    await client.waitFor((m) => m.task_id === 'race' && m.seq === 100);
    expect(seqsOf(client, 'race')).toEqual(Array.from({ length: 90 }, (_, i) => i + 11));
    expect(client.messages.find((m) => m.type === 'subscribed')!.payload.recovered).toBe(true);
  });

  it('says recovered false and sends the latest state when history after since was trimmed', async () => {
    await t.close();
    const { createMemoryStorage } = await import('../../src/server/index.js');
    t = await startServer(
      { heartbeat: { intervalMs: 0 } },
      createMemoryStorage({ retention: { maxEventsPerTask: 5 } }),
    );
    for (let i = 1; i <= 20; i++) await t.server.publish('trim', { progress: i });
    const client = await connect();
    const subscribed = await subscribe(client, 'trim', 3);
    expect(subscribed.payload.recovered).toBe(false);
    const snapshot = await client.waitFor((m) => m.snapshot === true);
    expect(snapshot).toMatchObject({ seq: 20, payload: { progress: 20 } });
    await t.server.publish('trim', { progress: 21 });
    await client.waitFor((m) => m.seq === 21);
    expect(seqsOf(client, 'trim')).toEqual([21]);
  });

  it('rewinds an existing subscription when the client subscribes again with since', async () => {
    const client = await connect();
    await subscribe(client, 'rw');
    for (let i = 1; i <= 5; i++) await t.server.publish('rw', { progress: i });
    await client.waitFor((m) => m.seq === 5);
    client.send({ action: 'subscribe', task_id: 'rw', since: 2 });
    await client.waitForCount((m) => m.task_id === 'rw' && m.seq === 5, 2);
    expect(seqsOf(client, 'rw')).toEqual([1, 2, 3, 4, 5, 3, 4, 5]);
  });
});

describe('bad client frames', () => {
  const cases: Array<[string, string, string]> = [
    ['not JSON', '{"action":', 'BAD_JSON'],
    ['a JSON array', '[1,2]', 'BAD_MESSAGE'],
    ['a JSON string', '"subscribe"', 'BAD_MESSAGE'],
    ['an object without action or type', '{"task_id":"t"}', 'BAD_MESSAGE'],
    ['an unknown action', '{"action":"delete","task_id":"t"}', 'UNKNOWN_ACTION'],
    ['an unknown type', '{"type":"pong"}', 'UNKNOWN_ACTION'],
    ['subscribe without task_id', '{"action":"subscribe"}', 'INVALID_TASK_ID'],
    ['subscribe with an empty task_id', '{"action":"subscribe","task_id":""}', 'INVALID_TASK_ID'],
    ['subscribe with a numeric task_id', '{"action":"subscribe","task_id":42}', 'INVALID_TASK_ID'],
    [
      'subscribe with a 101-character task_id',
      JSON.stringify({ action: 'subscribe', task_id: 'x'.repeat(101) }),
      'INVALID_TASK_ID',
    ],
    ['subscribe with a negative since', '{"action":"subscribe","task_id":"t","since":-1}', 'BAD_MESSAGE'],
    ['subscribe with a fractional since', '{"action":"subscribe","task_id":"t","since":1.5}', 'BAD_MESSAGE'],
    ['unsubscribe with an object task_id', '{"action":"unsubscribe","task_id":{}}', 'INVALID_TASK_ID'],
  ];

  it.each(cases)('answers %s with a coded error and keeps the socket open', async (_name, frame, code) => {
    const client = await connect();
    client.send(frame);
    const error = await client.waitFor((m) => m.type === 'error');
    expect(error.payload.code).toBe(code);
    expect(typeof error.payload.error).toBe('string');
    expect(error.payload.timestamp).toMatch(RFC3339);
    expect(error.seq).toBeUndefined();
    client.send({ type: 'ping' });
    await client.waitFor((m) => m.type === 'pong');
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('handles each line of a newline-batched frame, good and bad', async () => {
    const client = await connect();
    client.send('{"type":"ping"}\nnot json\n{"action":"subscribe","task_id":"nb"}');
    await client.waitFor((m) => m.type === 'subscribed');
    expect(client.messages.slice(1).map((m) => m.type)).toEqual(['pong', 'error', 'subscribed']);
  });

  it('closes with 1009 on a frame over the size limit', async () => {
    await t.close();
    t = await startServer({ heartbeat: { intervalMs: 0 }, limits: { maxFrameBytes: 1024 } });
    const client = await connect();
    client.send({ action: 'subscribe', task_id: 't', pad: 'x'.repeat(2000) });
    expect((await client.closed).code).toBe(1009);
  });

  it('refuses a subscription past the per-client cap with TOO_MANY_SUBSCRIPTIONS', async () => {
    await t.close();
    t = await startServer({ heartbeat: { intervalMs: 0 }, limits: { maxSubscriptionsPerClient: 2 } });
    const client = await connect();
    await subscribe(client, 'one');
    await subscribe(client, 'two');
    client.send({ action: 'subscribe', task_id: 'three' });
    const error = await client.waitFor((m) => m.type === 'error');
    expect(error).toMatchObject({ task_id: 'three', payload: { code: 'TOO_MANY_SUBSCRIPTIONS' } });
  });
});

describe('batching', () => {
  it('sends one JSON message per frame by default', async () => {
    const client = await connect();
    await subscribe(client, 'f');
    await Promise.all(Array.from({ length: 20 }, (_, i) => t.server.publish('f', { progress: i })));
    await client.waitFor((m) => m.seq === 20);
    for (const frame of client.frames) expect(() => JSON.parse(frame)).not.toThrow();
  });

  it('batches several messages per frame, newline-separated, when the client asks with batch=1', async () => {
    const client = await connect('user_id=u&batch=1');
    await subscribe(client, 'g');
    await Promise.all(Array.from({ length: 20 }, (_, i) => t.server.publish('g', { progress: i })));
    await client.waitFor((m) => m.seq === 20);
    expect(seqsOf(client, 'g')).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(client.frames.some((frame) => frame.includes('\n'))).toBe(true);
  });
});

describe('sharing the host server', () => {
  it('leaves upgrades on other paths to another WebSocket server', async () => {
    const other = new WebSocketServer({ noServer: true });
    t.httpServer.on('upgrade', (req, socket, head) => {
      if (req.url === '/other') other.handleUpgrade(req, socket, head, (ws) => ws.send('hello from other'));
    });
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/other`);
    const message = await new Promise<string>((resolve) =>
      ws.once('message', (data) => resolve(data.toString())),
    );
    expect(message).toBe('hello from other');
    ws.close();
    other.close();
    const ours = await connect();
    expect(ours.messages[0]!.type).toBe('connected');
  });

  it('refuses upgrades on unknown paths with 404 when no other listener exists', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/nope`);
    const status = await new Promise<number>((resolve) =>
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!)),
    );
    expect(status).toBe(404);
  });

  it('accepts the reconnect endpoint', async () => {
    const client = await connectRaw(`ws://127.0.0.1:${t.port}/api/v1/ws/reconnect?user_id=u`);
    clients.push(client);
    expect((await client.waitFor(() => true)).type).toBe('connected');
  });

  it('closes sockets with 1001 on close() and leaves the host server listening', async () => {
    const client = await connect();
    await t.server.close();
    expect((await client.closed).code).toBe(1001);
    expect(t.httpServer.listening).toBe(true);
    const response = await fetch(`${t.httpUrl}/api/v1/progress/stats`);
    expect(response.status).toBeGreaterThan(0);
  });
});

describe('request targets', () => {
  it('does not treat a protocol-relative target as the WebSocket path', async () => {
    // ws normalises the request line, so write the upgrade by hand.
    const net = await import('node:net');
    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect(t.port, '127.0.0.1', () => {
        socket.write(
          'GET //evil.example/api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
      });
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk.toString();
      });
      socket.on('close', () => resolve(data));
    });
    expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 404 Not Found');
  });
});
