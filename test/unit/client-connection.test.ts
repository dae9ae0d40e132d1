/**
 * The client's connection behaviour against a mock-socket server with fake timers: exact
 * backoff, attempt limits, fatal close codes, the heartbeat, browser signals, and cleanup.
 */
import { type Client, WebSocket as MockWebSocket, Server } from 'mock-socket';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type DisconnectedEvent,
  ProgressClient,
  type ProgressClientOptions,
  type ReconnectingEvent,
  type StateChangeEvent,
  type WebSocketConstructor,
} from '../../src/client/index.js';

const URL_BASE = 'ws://mock.test/api/v1/ws';
/** mock-socket delivers every socket event after a 4 ms timer. */
const TICK_MS = 4;

interface Peer {
  readonly socket: Client;
  readonly query: URLSearchParams;
  readonly received: Array<Record<string, unknown>>;
}

interface MockServer {
  readonly peers: Peer[];
  answerPings: boolean;
  stop(): void;
}

let server: MockServer | undefined;
let clients: ProgressClient[] = [];
/** Every socket the client constructed, with the (fake) time it did. */
let attempts: Array<{ atMs: number; url: string }> = [];

class RecordingWebSocket extends MockWebSocket {
  constructor(url: string) {
    super(url);
    attempts.push({ atMs: Date.now(), url });
  }
}

const json = (value: unknown): string => JSON.stringify(value);

/** A server that greets like ours: `connected`, or `reconnected` keeping the id when asked to resume. */
function startServer(greet = true): MockServer {
  const mock = new Server(URL_BASE);
  const state: MockServer = {
    peers: [],
    answerPings: true,
    stop: () => mock.stop(),
  };
  let nextId = 1;
  mock.on('connection', (socket) => {
    const query = new URL(socket.url).searchParams;
    const peer: Peer = { socket, query, received: [] };
    state.peers.push(peer);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      peer.received.push(message);
      if (message.type === 'ping' && state.answerPings) {
        socket.send(json({ type: 'pong', task_id: '', payload: { timestamp: 0 } }));
      }
    });
    if (!greet) return;
    const old = query.get('old_client_id');
    socket.send(
      json(
        old === null
          ? {
              type: 'connected',
              task_id: '',
              payload: { client_id: `c${nextId++}`, message: '', timestamp: '' },
            }
          : {
              type: 'reconnected',
              task_id: '',
              payload: {
                client_id: old,
                old_client_id: old,
                message: '',
                subscribed: {},
                timestamp: '',
                resumed: true,
              },
            },
      ),
    );
  });
  server = state;
  return state;
}

function createClient(options: Partial<ProgressClientOptions> = {}): ProgressClient {
  const client = new ProgressClient({
    url: URL_BASE,
    WebSocket: RecordingWebSocket as unknown as WebSocketConstructor,
    backoff: { jitter: 0 },
    ...options,
  });
  clients.push(client);
  return client;
}

function record<T>(client: ProgressClient, event: 'reconnecting' | 'disconnected' | 'state'): T[] {
  const events: T[] = [];
  client.on(event, (e: unknown) => events.push(e as T));
  return events;
}

const progressMessage = (taskId: string, seq: number, progress = seq) => ({
  type: 'progress',
  task_id: taskId,
  seq,
  payload: {
    task_id: taskId,
    progress,
    current_step: '',
    total_steps: 0,
    completed_steps: 0,
    message: '',
    status: 'running',
    timestamp: '',
  },
});

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);
/** Lets a greeting reach the client and the client's answer reach the server. */
const settle = () => advance(3 * TICK_MS);

beforeEach(() => {
  vi.useFakeTimers();
  attempts = [];
});

afterEach(() => {
  for (const client of clients) client.close();
  clients = [];
  server?.stop();
  server = undefined;
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('reconnect backoff', () => {
  it('waits exactly 1 s, 2 s, 4 s, 8 s, 16 s, then 30 s between attempts with jitter off', async () => {
    const client = createClient();
    const reconnecting = record<ReconnectingEvent>(client, 'reconnecting');
    await advance(
      TICK_MS +
        1_000 +
        TICK_MS +
        2_000 +
        TICK_MS +
        4_000 +
        TICK_MS +
        8_000 +
        TICK_MS +
        16_000 +
        TICK_MS +
        30_000 +
        TICK_MS +
        30_000 +
        TICK_MS,
    );
    expect(reconnecting.map((e) => [e.attempt, e.delayMs])).toEqual([
      [1, 1_000],
      [2, 2_000],
      [3, 4_000],
      [4, 8_000],
      [5, 16_000],
      [6, 30_000],
      [7, 30_000],
      [8, 30_000],
    ]);
    // Each attempt fails one mock tick after it starts; the next starts exactly one delay later.
    const gaps = attempts.slice(1).map((attempt, i) => attempt.atMs - attempts[i]!.atMs - TICK_MS);
    expect(gaps).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('never waits longer than maxDelayMs, with jitter on', async () => {
    const client = createClient({ backoff: { initialDelayMs: 100, maxDelayMs: 1_000, jitter: 1 } });
    const reconnecting = record<ReconnectingEvent>(client, 'reconnecting');
    await advance(20_000);
    expect(reconnecting.length).toBeGreaterThanOrEqual(20);
    for (const { delayMs } of reconnecting) expect(delayMs).toBeLessThanOrEqual(1_000);
  });

  it('starts again from the first delay after a successful connection', async () => {
    const mock = startServer();
    const client = createClient();
    const reconnecting = record<ReconnectingEvent>(client, 'reconnecting');
    await advance(TICK_MS);
    expect(client.state).toBe('open');
    for (let round = 0; round < 3; round++) {
      mock.peers.at(-1)!.socket.close({ code: 1001, reason: 'going away', wasClean: true });
      await advance(TICK_MS + 1_000 + TICK_MS);
      expect(client.state).toBe('open');
    }
    expect(reconnecting.map((e) => [e.attempt, e.delayMs])).toEqual([
      [1, 1_000],
      [1, 1_000],
      [1, 1_000],
    ]);
  });

  it('gives up after maxReconnectAttempts with a final disconnected that says why', async () => {
    const client = createClient({ maxReconnectAttempts: 3 });
    const reconnecting = record<ReconnectingEvent>(client, 'reconnecting');
    const disconnected = record<DisconnectedEvent>(client, 'disconnected');
    await advance(60_000);
    expect(reconnecting.map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(attempts).toHaveLength(4);
    expect(client.state).toBe('closed');
    expect(disconnected).toHaveLength(1);
    expect(disconnected[0]).toMatchObject({ willReconnect: false });
    expect(disconnected[0]!.reason).toMatch(/^gave up after 3 reconnect attempts/);
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each([4001, 4003])('does not reconnect after close code %i', async (code) => {
    const mock = startServer();
    const client = createClient();
    const disconnected = record<DisconnectedEvent>(client, 'disconnected');
    await advance(TICK_MS);
    mock.peers[0]!.socket.close({ code, reason: 'refused', wasClean: true });
    await advance(120_000);
    expect(disconnected).toEqual([{ code, reason: 'refused', willReconnect: false }]);
    expect(client.state).toBe('closed');
    expect(mock.peers).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not reconnect at all with autoReconnect false', async () => {
    const mock = startServer();
    const client = createClient({ autoReconnect: false });
    await advance(TICK_MS);
    mock.peers[0]!.socket.close({ code: 1001, reason: 'going away', wasClean: true });
    await advance(60_000);
    expect(client.state).toBe('closed');
    expect(mock.peers).toHaveLength(1);
  });

  it('goes idle -> connecting -> open -> reconnecting -> open -> closed, one state event per change', async () => {
    const mock = startServer();
    const client = createClient({ autoConnect: false });
    const states = record<StateChangeEvent>(client, 'state');
    expect(client.state).toBe('idle');
    client.connect();
    await advance(TICK_MS);
    mock.peers[0]!.socket.close({ code: 1001, reason: 'going away', wasClean: true });
    await advance(TICK_MS + 1_000 + TICK_MS);
    client.close();
    expect(states.map((s) => `${s.from}->${s.to}`)).toEqual([
      'idle->connecting',
      'connecting->open',
      'open->reconnecting',
      'reconnecting->open',
      'open->closed',
    ]);
    expect(states[2]).toMatchObject({ code: 1001, reason: 'going away' });
  });
});

describe('heartbeat', () => {
  it('sends {"type":"ping"} every heartbeatIntervalMs and stays up while answered', async () => {
    const mock = startServer();
    const client = createClient({ heartbeatIntervalMs: 30_000, heartbeatTimeoutMs: 10_000 });
    await advance(TICK_MS + 5 * 60_000 + TICK_MS);
    expect(mock.peers).toHaveLength(1);
    expect(mock.peers[0]!.received.filter((m) => m.type === 'ping')).toHaveLength(10);
    expect(client.state).toBe('open');
  });

  it('declares a silent connection dead after heartbeatTimeoutMs and reconnects, resuming the session', async () => {
    const mock = startServer();
    mock.answerPings = false;
    const client = createClient({ heartbeatIntervalMs: 30_000, heartbeatTimeoutMs: 10_000 });
    const disconnected = record<DisconnectedEvent>(client, 'disconnected');
    await advance(TICK_MS + 30_000 + 10_000 - 1);
    expect(disconnected).toEqual([]);
    await advance(1);
    expect(disconnected).toEqual([{ code: 1006, reason: 'heartbeat timeout', willReconnect: true }]);
    await advance(1_000 + TICK_MS);
    expect(mock.peers).toHaveLength(2);
    expect(mock.peers[1]!.query.get('old_client_id')).toBe('c1');
    expect(client.state).toBe('open');
  });

  it('counts any frame as a sign of life, not only pong', async () => {
    const mock = startServer();
    mock.answerPings = false;
    createClient({ heartbeatIntervalMs: 30_000, heartbeatTimeoutMs: 10_000 });
    await advance(TICK_MS + 30_000 + 5_000);
    mock.peers[0]!.socket.send(json({ type: 'unsubscribed', task_id: 'x', payload: { topics: [] } }));
    await advance(TICK_MS + 5_000);
    expect(mock.peers).toHaveLength(1);
  });

  it('gives a ping one more chance when its own timer ran late (a throttled background tab)', async () => {
    const mock = startServer();
    mock.answerPings = false;
    const client = createClient({ heartbeatIntervalMs: 30_000, heartbeatTimeoutMs: 10_000 });
    const disconnected = record<DisconnectedEvent>(client, 'disconnected');
    await advance(TICK_MS + 30_000);
    // The tab was throttled: a minute passes before the deadline timer runs.
    vi.setSystemTime(Date.now() + 60_000);
    mock.answerPings = true;
    await advance(10_000 + 3 * TICK_MS);
    expect(disconnected).toEqual([]);
    expect(mock.peers[0]!.received.filter((m) => m.type === 'ping')).toHaveLength(2);
    expect(client.state).toBe('open');
  });

  it('still declares the connection dead when the second chance goes unanswered too', async () => {
    const mock = startServer();
    mock.answerPings = false;
    const client = createClient({ heartbeatIntervalMs: 30_000, heartbeatTimeoutMs: 10_000 });
    const disconnected = record<DisconnectedEvent>(client, 'disconnected');
    await advance(TICK_MS + 30_000);
    vi.setSystemTime(Date.now() + 60_000);
    await advance(10_000);
    expect(disconnected).toEqual([]);
    await advance(10_000);
    expect(disconnected.map((e) => e.reason)).toEqual(['heartbeat timeout']);
  });

  it('gives up on an attempt whose greeting never comes after connectTimeoutMs', async () => {
    const mock = startServer(false);
    const client = createClient({ connectTimeoutMs: 5_000 });
    const reconnecting = record<ReconnectingEvent>(client, 'reconnecting');
    await advance(5_000);
    expect(reconnecting).toEqual([{ attempt: 1, delayMs: 1_000, code: 1006, reason: 'connect timeout' }]);
    expect(mock.peers).toHaveLength(1);
  });
});

describe('close()', () => {
  it('leaves no timer and no open socket behind, whatever the state', async () => {
    const mock = startServer();
    const open = createClient({ heartbeatIntervalMs: 1_000 });
    open.subscribe('t1');
    await advance(TICK_MS + 1_500);
    let closedOnServer = 0;
    mock.peers[0]!.socket.on('close', () => closedOnServer++);
    open.close();
    mock.stop();
    const reconnecting = createClient();
    await advance(TICK_MS);
    expect(reconnecting.state).toBe('reconnecting');
    reconnecting.close();
    const connecting = createClient();
    expect(connecting.state).toBe('connecting');
    connecting.close();
    await advance(TICK_MS);
    expect(closedOnServer).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    expect([open.state, reconnecting.state, connecting.state]).toEqual(['closed', 'closed', 'closed']);
  });

  it('emits one final disconnected and can connect() again with its subscriptions', async () => {
    const mock = startServer();
    const client = createClient();
    client.subscribe('t1');
    await advance(TICK_MS);
    const disconnected = record<DisconnectedEvent>(client, 'disconnected');
    client.close();
    client.close();
    expect(disconnected).toEqual([{ code: 1000, reason: 'client closed', willReconnect: false }]);
    client.connect();
    await settle();
    expect(client.state).toBe('open');
    // Never acknowledged by the server, so asked for afresh rather than `since: 0`.
    expect(mock.peers[1]!.received).toEqual([{ action: 'subscribe', task_id: 't1' }]);
  });
});

describe('browser signals', () => {
  function stubWindow(): EventTarget {
    const target = new EventTarget();
    vi.stubGlobal('addEventListener', target.addEventListener.bind(target));
    vi.stubGlobal('removeEventListener', target.removeEventListener.bind(target));
    return target;
  }

  it('reconnects at once when the browser goes online instead of waiting out the backoff', async () => {
    const win = stubWindow();
    const client = createClient({ backoff: { initialDelayMs: 30_000, jitter: 0 } });
    await advance(TICK_MS);
    expect(client.state).toBe('reconnecting');
    const mock = startServer();
    win.dispatchEvent(new Event('online'));
    await advance(TICK_MS);
    expect(client.state).toBe('open');
    expect(mock.peers).toHaveLength(1);
  });

  it('probes an open connection with a ping when the browser goes online', async () => {
    const win = stubWindow();
    const mock = startServer();
    createClient();
    await advance(TICK_MS);
    win.dispatchEvent(new Event('online'));
    await settle();
    expect(mock.peers[0]!.received).toEqual([{ type: 'ping' }]);
  });

  it('reconnects at once when the page shows again after being hidden long enough', async () => {
    stubWindow();
    const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    vi.stubGlobal('document', doc);
    const client = createClient({
      backoff: { initialDelayMs: 30_000, jitter: 0 },
      heartbeatTimeoutMs: 10_000,
    });
    await advance(TICK_MS);
    doc.visibilityState = 'hidden';
    doc.dispatchEvent(new Event('visibilitychange'));
    await advance(12_000);
    const mock = startServer();
    doc.visibilityState = 'visible';
    doc.dispatchEvent(new Event('visibilitychange'));
    await advance(TICK_MS);
    expect(client.state).toBe('open');
    expect(mock.peers).toHaveLength(1);
  });

  it('stops listening to the browser after close()', async () => {
    const win = stubWindow();
    const client = createClient({ backoff: { initialDelayMs: 30_000, jitter: 0 } });
    await advance(TICK_MS);
    client.close();
    startServer();
    win.dispatchEvent(new Event('online'));
    await advance(TICK_MS);
    expect(attempts).toHaveLength(1);
    expect(client.state).toBe('closed');
  });
});

describe('protocol handling', () => {
  it('sends subscriptions made before the socket opened once the server greets', async () => {
    const mock = startServer();
    const client = createClient();
    const handle = client.subscribe('t1');
    expect(handle.state).toEqual({ taskId: 't1', seq: 0, error: '', result: null, recovered: true });
    await settle();
    expect(mock.peers[0]!.received).toEqual([{ action: 'subscribe', task_id: 't1' }]);
    expect(mock.peers[0]!.query.get('batch')).toBeNull();
  });

  it('reads several newline-separated messages from one frame', async () => {
    const mock = startServer();
    const client = createClient();
    client.subscribe('t1');
    const seen: number[] = [];
    client.on('progress', ({ seq }) => seen.push(seq));
    await advance(TICK_MS);
    mock.peers[0]!.socket.send(
      [
        json({ type: 'subscribed', task_id: 't1', payload: { topics: ['t1'] } }),
        json(progressMessage('t1', 1)),
        json(progressMessage('t1', 2)),
      ].join('\n'),
    );
    await advance(TICK_MS);
    expect(seen).toEqual([1, 2]);
    expect(client.task('t1')?.seq).toBe(2);
  });

  it('asks for a replay once per gap and hands the app each event once, in order', async () => {
    const mock = startServer();
    const client = createClient();
    client.subscribe('t1');
    const seen: number[] = [];
    client.on('progress', ({ seq }) => seen.push(seq));
    await advance(TICK_MS);
    const peer = mock.peers[0]!;
    for (const seq of [1, 4, 5]) peer.socket.send(json(progressMessage('t1', seq)));
    await settle();
    expect(seen).toEqual([1]);
    expect(peer.received.slice(1)).toEqual([{ action: 'subscribe', task_id: 't1', since: 1 }]);
    for (const seq of [2, 3, 4, 5, 6]) peer.socket.send(json(progressMessage('t1', seq)));
    await advance(TICK_MS);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('takes a coalesced progress as covering the events it folds, without asking for them', async () => {
    const mock = startServer();
    const client = createClient();
    client.subscribe('t1');
    const seen: Array<[number, number | undefined]> = [];
    client.on('progress', ({ seq, coalescedFrom }) => seen.push([seq, coalescedFrom]));
    await settle();
    mock.peers[0]!.socket.send(
      [json(progressMessage('t1', 1)), json({ ...progressMessage('t1', 5), coalesced_from: 2 })].join('\n'),
    );
    await settle();
    expect(seen).toEqual([
      [1, undefined],
      [5, 2],
    ]);
    expect(mock.peers[0]!.received).toEqual([{ action: 'subscribe', task_id: 't1' }]);
  });

  it('subscribes again with since = last seen seq on every new connection', async () => {
    const mock = startServer();
    const client = createClient();
    client.subscribe('t1');
    client.subscribe('t2');
    await advance(TICK_MS);
    mock.peers[0]!.socket.send(
      [
        json({ type: 'subscribed', task_id: 't1', payload: { topics: [] } }),
        json(progressMessage('t1', 1)),
        json(progressMessage('t1', 2)),
      ].join('\n'),
    );
    await advance(TICK_MS);
    mock.peers[0]!.socket.close({ code: 1001, reason: 'going away', wasClean: true });
    const reconnected: unknown[] = [];
    client.on('reconnected', (event) => reconnected.push(event));
    await advance(1_000);
    await settle();
    expect(mock.peers[1]!.received).toEqual([
      { action: 'subscribe', task_id: 't1', since: 2 },
      { action: 'subscribe', task_id: 't2' },
    ]);
    expect(reconnected).toEqual([
      { clientId: 'c1', oldClientId: 'c1', resumed: true, reason: undefined, subscriptions: ['t1', 't2'] },
    ]);
  });

  it('takes a snapshot after recovered:false as the new baseline and says the recovery was partial', async () => {
    const mock = startServer();
    const client = createClient();
    client.subscribe('t1', { since: 3 });
    const recovery: unknown[] = [];
    const snapshots: unknown[] = [];
    client.on('recovery', (event) => recovery.push({ seq: event.seq, recovered: event.recovered }));
    client.on('progress', (event) => snapshots.push({ seq: event.seq, snapshot: event.snapshot }));
    await settle();
    expect(mock.peers[0]!.received).toEqual([{ action: 'subscribe', task_id: 't1', since: 3 }]);
    mock.peers[0]!.socket.send(
      [
        json({ type: 'subscribed', task_id: 't1', payload: { topics: ['t1'], recovered: false } }),
        json({ ...progressMessage('t1', 40, 80), snapshot: true }),
        json(progressMessage('t1', 41, 90)),
      ].join('\n'),
    );
    await advance(TICK_MS);
    expect(recovery).toEqual([{ seq: 40, recovered: false }]);
    expect(snapshots).toEqual([
      { seq: 40, snapshot: true },
      { seq: 41, snapshot: false },
    ]);
    expect(client.task('t1')).toMatchObject({ seq: 41, recovered: false, latest: { progress: 90 } });
  });

  it('emits complete once a task reaches a terminal status', async () => {
    const mock = startServer();
    const client = createClient();
    client.subscribe('t1');
    const complete: unknown[] = [];
    client.on('complete', ({ taskId, seq, status, error }) => complete.push({ taskId, seq, status, error }));
    await advance(TICK_MS);
    mock.peers[0]!.socket.send(
      [
        json(progressMessage('t1', 1)),
        json({
          type: 'status',
          task_id: 't1',
          seq: 2,
          payload: { task_id: 't1', status: 'failed', error: 'boom', result: null, timestamp: '' },
        }),
      ].join('\n'),
    );
    await advance(TICK_MS);
    expect(complete).toEqual([{ taskId: 't1', seq: 2, status: 'failed', error: 'boom' }]);
    expect(client.task('t1')).toMatchObject({ status: 'failed', latest: { status: 'failed' } });
  });

  it('forgets a subscription the server refused and reports the coded error', async () => {
    const mock = startServer();
    const client = createClient();
    client.subscribe('secret');
    const errors: unknown[] = [];
    client.on('error', (event) => errors.push(event));
    await advance(TICK_MS);
    mock.peers[0]!.socket.send(
      json({ type: 'error', task_id: 'secret', payload: { code: 'FORBIDDEN', error: 'no', timestamp: '' } }),
    );
    await advance(TICK_MS);
    expect(errors).toEqual([{ source: 'server', taskId: 'secret', code: 'FORBIDDEN', message: 'no' }]);
    expect(client.subscriptions()).toEqual([]);
  });

  it('delivers the rest of a frame when a listener throws, and re-raises the throw on its own', async () => {
    const mock = startServer();
    const client = createClient();
    client.subscribe('t1');
    const thrown = new Error('listener bug');
    const raised: unknown[] = [];
    const seen: number[] = [];
    client.on('progress', ({ seq }) => seen.push(seq));
    client.on('progress', () => {
      throw thrown;
    });
    await advance(TICK_MS);
    const original = globalThis.queueMicrotask;
    vi.stubGlobal('queueMicrotask', (task: () => void) =>
      original(() => {
        try {
          task();
        } catch (error) {
          raised.push(error);
        }
      }),
    );
    mock.peers[0]!.socket.send([json(progressMessage('t1', 1)), json(progressMessage('t1', 2))].join('\n'));
    await advance(TICK_MS);
    expect(seen).toEqual([1, 2]);
    expect(raised).toEqual([thrown, thrown]);
    expect(client.task('t1')?.seq).toBe(2);
  });

  it('rejects a task id that is not 1 to 100 characters with INVALID_TASK_ID', () => {
    const client = createClient({ autoConnect: false });
    expect(() => client.subscribe('')).toThrow(expect.objectContaining({ code: 'INVALID_TASK_ID' }));
    expect(() => client.subscribe('x'.repeat(101))).toThrow(/1 to 100 characters/);
  });
});

describe('persist', () => {
  function memoryStorage() {
    const items = new Map<string, string>();
    return {
      items,
      getItem: (key: string) => items.get(key) ?? null,
      setItem: (key: string, value: string) => void items.set(key, value),
      removeItem: (key: string) => void items.delete(key),
    };
  }

  it('resumes after a reload with the persisted client id and last seq, showing the last state at once', async () => {
    const mock = startServer();
    const storage = memoryStorage();
    const before = createClient({ persist: storage, userId: 'u1' });
    before.subscribe('t1');
    await advance(TICK_MS);
    mock.peers[0]!.socket.send(
      [
        json({ type: 'subscribed', task_id: 't1', payload: { topics: ['t1'] } }),
        json(progressMessage('t1', 1, 10)),
        json(progressMessage('t1', 2, 20)),
      ].join('\n'),
    );
    await advance(TICK_MS + 200);
    expect(storage.items.size).toBe(1);
    before.close();

    const after = createClient({ persist: storage, userId: 'u1' });
    const handle = after.subscribe('t1');
    expect(handle.state).toMatchObject({ seq: 2, latest: { progress: 20 } });
    const connected: unknown[] = [];
    after.on('connected', (event) => connected.push(event));
    await settle();
    expect(mock.peers[1]!.query.get('old_client_id')).toBe('c1');
    expect(mock.peers[1]!.received).toEqual([{ action: 'subscribe', task_id: 't1', since: 2 }]);
    expect(connected).toEqual([{ clientId: 'c1', resumed: true }]);
  });

  it('ignores persisted state older than persistTtlMs', async () => {
    const mock = startServer();
    const storage = memoryStorage();
    const before = createClient({ persist: storage });
    before.subscribe('t1');
    await advance(TICK_MS + 200);
    before.close();
    vi.setSystemTime(Date.now() + 120_001);
    const after = createClient({ persist: storage });
    expect(after.subscribe('t1').state.seq).toBe(0);
    await advance(TICK_MS);
    expect(mock.peers[1]!.query.has('old_client_id')).toBe(false);
  });

  it('uses sessionStorage with persist "session"', async () => {
    startServer();
    const storage = memoryStorage();
    vi.stubGlobal('sessionStorage', storage);
    const client = createClient({ persist: 'session', url: `${URL_BASE}?x=1` });
    client.subscribe('t1');
    await advance(TICK_MS + 200);
    const [key, value] = [...storage.items][0]!;
    expect(key).toBe(`realtime-progress:${URL_BASE}?x=1||`);
    expect(JSON.parse(value)).toMatchObject({
      clientId: 'c1',
      tasks: { t1: { confirmed: false, state: { seq: 0 } } },
    });
  });
});

describe('params as a function', () => {
  /** A promise the test settles by hand. */
  function deferred<T>() {
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  }

  const tokenOf = (url: string): string | null => new URL(url).searchParams.get('token');

  it('is called before every attempt, and each socket carries what it returned', async () => {
    const mock = startServer();
    let calls = 0;
    const client = createClient({ params: () => ({ token: `t${++calls}` }) });
    await settle();
    mock.peers[0]!.socket.close({ code: 1001, reason: 'going away', wasClean: true });
    await advance(TICK_MS + 1_000 + TICK_MS);
    expect(client.state).toBe('open');
    expect(attempts.map((attempt) => tokenOf(attempt.url))).toEqual(['t1', 't2']);
    expect(mock.peers.map((peer) => peer.query.get('old_client_id'))).toEqual([null, 'c1']);
  });

  it('counts a rejection as a failed attempt: error event, the usual backoff, then it connects', async () => {
    startServer();
    const failure = new Error('token service down');
    const params = vi.fn().mockRejectedValueOnce(failure).mockResolvedValueOnce({ token: 't2' });
    const client = createClient({ params });
    const errors: unknown[] = [];
    client.on('error', (event) => errors.push(event));
    const reconnecting = record<ReconnectingEvent>(client, 'reconnecting');
    await advance(0);
    expect(errors).toEqual([
      {
        source: 'client',
        taskId: '',
        code: 'PARAMS_FAILED',
        message: 'params() failed: Error: token service down',
        cause: failure,
      },
    ]);
    expect(reconnecting).toEqual([
      { attempt: 1, delayMs: 1_000, code: 1006, reason: 'params() failed: Error: token service down' },
    ]);
    expect([client.state, attempts.length, params.mock.calls.length]).toEqual(['reconnecting', 0, 1]);
    await advance(999);
    expect(params).toHaveBeenCalledTimes(1);
    await advance(1 + TICK_MS);
    expect(client.state).toBe('open');
    expect(params).toHaveBeenCalledTimes(2);
    expect(attempts.map((attempt) => tokenOf(attempt.url))).toEqual(['t2']);
  });

  it('counts rejections toward maxReconnectAttempts and then closes, leaving nothing behind', async () => {
    const params = vi.fn(async () => {
      throw new Error('no token');
    });
    const client = createClient({ params, maxReconnectAttempts: 2 });
    const disconnected = record<DisconnectedEvent>(client, 'disconnected');
    await advance(60_000);
    expect(client.state).toBe('closed');
    expect(params).toHaveBeenCalledTimes(3);
    expect(attempts).toHaveLength(0);
    expect(disconnected).toEqual([
      {
        code: 1006,
        reason: 'gave up after 2 reconnect attempts (params() failed: Error: no token)',
        willReconnect: false,
      },
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('opens no socket when close() comes while params is pending', async () => {
    startServer();
    const pending = deferred<Record<string, string>>();
    const client = createClient({ params: () => pending.promise });
    const errors: unknown[] = [];
    client.on('error', (event) => errors.push(event));
    await advance(TICK_MS);
    expect(client.state).toBe('connecting');
    client.close();
    pending.resolve({ token: 'late' });
    await advance(60_000);
    expect([client.state, attempts.length, errors.length]).toEqual(['closed', 0, 0]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reports nothing when params rejects after close()', async () => {
    const pending = deferred<Record<string, string>>();
    const client = createClient({ params: () => pending.promise });
    const errors: unknown[] = [];
    client.on('error', (event) => errors.push(event));
    client.close();
    pending.reject(new Error('too late'));
    await advance(60_000);
    expect([client.state, attempts.length, errors.length]).toEqual(['closed', 0, 0]);
  });

  it('times out an attempt whose params never come, and ignores them when they come after a newer attempt', async () => {
    startServer();
    const first = deferred<Record<string, string>>();
    const params = vi
      .fn<() => Promise<Record<string, string>>>()
      .mockReturnValueOnce(first.promise)
      .mockResolvedValueOnce({ token: 't2' });
    const client = createClient({ params, connectTimeoutMs: 5_000 });
    const reconnecting = record<ReconnectingEvent>(client, 'reconnecting');
    await advance(5_000);
    expect(reconnecting).toEqual([{ attempt: 1, delayMs: 1_000, code: 1006, reason: 'connect timeout' }]);
    await advance(1_000 + TICK_MS);
    expect(client.state).toBe('open');
    first.resolve({ token: 't1' });
    await advance(60_000);
    expect(attempts.map((attempt) => tokenOf(attempt.url))).toEqual(['t2']);
    expect(client.state).toBe('open');
  });
});

describe('options', () => {
  it('rejects out-of-range values with a TypeError naming the option', () => {
    expect(() => createClient({ url: 'http://x' })).toThrow(/url must be a ws:\/\/ or wss:\/\/ URL/);
    expect(() => createClient({ heartbeatTimeoutMs: -1 })).toThrow(
      /heartbeatTimeoutMs must be a number >= 0, got -1/,
    );
    expect(() => createClient({ backoff: { jitter: 2 } })).toThrow(/jitter must be from 0 to 1, got 2/);
    expect(() => createClient({ backoff: { factor: 0.5 } })).toThrow(/factor must be a number >= 1/);
  });

  it('derives the REST URL from the WebSocket URL and sends the identity on the socket', async () => {
    const mock = startServer();
    createClient({ userId: 'alice', projectId: 'p1', params: { token: 't0k' } });
    await advance(TICK_MS);
    const query = mock.peers[0]!.query;
    expect([query.get('user_id'), query.get('project_id'), query.get('token')]).toEqual([
      'alice',
      'p1',
      't0k',
    ]);
  });
});
