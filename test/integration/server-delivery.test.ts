import { afterEach, describe, expect, it } from 'vitest';
import { type Bus, type BusMessage, createLocalBus, type Logger } from '../../src/server/index.js';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { connectRaw, type RawClient, seqsOf } from '../helpers/raw-client.js';
import { waitUntil } from '../helpers/wait.js';

let t: TestServer | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await t?.close();
  t = undefined;
});

/** A bus that delivers messages out of order: it holds every odd message and releases it after the next. */
function reorderingBus(): Bus {
  const inner = createLocalBus();
  let held: BusMessage | undefined;
  return {
    ...inner,
    async publish(message) {
      if (held === undefined && message.seq % 2 === 1) {
        held = message;
        return;
      }
      await inner.publish(message);
      if (held !== undefined) {
        const release = held;
        held = undefined;
        await inner.publish(release);
      }
    },
  };
}

/** A bus that loses every third message. */
function lossyBus(): Bus {
  const inner = createLocalBus();
  let count = 0;
  return {
    ...inner,
    async publish(message) {
      count++;
      if (count % 3 !== 0) await inner.publish(message);
    },
  };
}

describe('ordered, gapless delivery whatever the bus does', () => {
  it('puts events back in seq order when the bus reorders them', async () => {
    t = await startServer({ heartbeat: { intervalMs: 0 }, bus: reorderingBus() });
    const client = await connectRaw(t.wsUrl('user_id=u'));
    clients.push(client);
    client.send({ action: 'subscribe', task_id: 'ro' });
    await client.waitFor((m) => m.type === 'subscribed');
    for (let i = 1; i <= 20; i++) await t.server.publish('ro', { progress: i });
    await client.waitFor((m) => m.seq === 20);
    expect(seqsOf(client, 'ro')).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('fills events the bus lost from storage', async () => {
    t = await startServer({ heartbeat: { intervalMs: 0 }, bus: lossyBus() });
    const client = await connectRaw(t.wsUrl('user_id=u'));
    clients.push(client);
    client.send({ action: 'subscribe', task_id: 'lossy' });
    await client.waitFor((m) => m.type === 'subscribed');
    // 31 events: the bus drops seq 3, 6, ... 30 and delivers the final status (31st).
    for (let i = 1; i <= 30; i++) await t.server.publish('lossy', { progress: i });
    await t.server.setStatus('lossy', 'completed');
    await client.waitFor((m) => m.type === 'status');
    expect(seqsOf(client, 'lossy')).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
  });
});

describe('liveness and backpressure', () => {
  it('drops a peer that stops answering protocol pings', async () => {
    t = await startServer({ heartbeat: { intervalMs: 30 } });
    const client = await connectRaw(t.wsUrl('user_id=u'), { autoPong: false });
    clients.push(client);
    const { code } = await client.closed;
    expect(code).toBe(1006);
    await waitUntil(() => t!.server.stats().totalClients === 0);
  });

  it('keeps a peer that answers protocol pings', async () => {
    t = await startServer({ heartbeat: { intervalMs: 20 } });
    const client = await connectRaw(t.wsUrl('user_id=u'));
    clients.push(client);
    let pings = 0;
    await new Promise<void>((resolve) =>
      client.ws.on('ping', () => {
        if (++pings === 4) resolve();
      }),
    );
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('pings every socket when a heartbeat round takes several turns of the loop, and drops only the silent ones', async () => {
    t = await startServer({ heartbeat: { intervalMs: 100 } });
    const server = t;
    // More sockets than one turn pings (100); the silent ones connect last, so a later turn pings them.
    const answering = await Promise.all(
      Array.from({ length: 150 }, () => connectRaw(server.wsUrl('user_id=u'))),
    );
    const silent = await Promise.all(
      Array.from({ length: 5 }, () => connectRaw(server.wsUrl('user_id=u'), { autoPong: false })),
    );
    clients.push(...answering, ...silent);
    const pings = answering.map(() => 0);
    for (const [index, client] of answering.entries()) client.ws.on('ping', () => pings[index]!++);
    for (const client of silent) expect((await client.closed).code).toBe(1006);
    await waitUntil(() => pings.every((count) => count >= 2));
    expect(answering.every((client) => client.ws.readyState === client.ws.OPEN)).toBe(true);
    expect(server.server.stats().totalClients).toBe(150);
  });

  it.each(['user_id=slow', 'user_id=slow&batch=1'])(
    'closes a connection whose send buffer passes the hard limit with 4009, even if the publisher never yields (%s)',
    async (query) => {
      t = await startServer({ heartbeat: { intervalMs: 0 }, limits: { maxBufferedBytes: 64 * 1024 } });
      const client = await connectRaw(t.wsUrl(query));
      clients.push(client);
      client.send({ action: 'subscribe', task_id: 'flood' });
      await client.waitFor((m) => m.type === 'subscribed');
      // Stop reading: the kernel buffers fill, then the server's socket buffer does.
      const socket = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      socket.pause();
      try {
        const message = 'x'.repeat(500);
        const deadline = Date.now() + 15_000;
        for (let i = 0; i < 100_000 && t.server.stats().totalClients > 0 && Date.now() < deadline; i++) {
          await t.server.publish('flood', { progress: i % 100, message });
        }
        expect(t.server.stats().totalClients).toBe(0);
      } finally {
        socket.resume();
      }
      expect((await client.closed).code).toBe(4009);
    },
  );
});

describe('logging', () => {
  it('logs connects at info with a redacted client id and subscribes at debug', async () => {
    const lines: Array<[string, Record<string, unknown>, string]> = [];
    const logger: Logger = {
      debug: (fields, message) => lines.push(['debug', fields, message]),
      info: (fields, message) => lines.push(['info', fields, message]),
      warn: (fields, message) => lines.push(['warn', fields, message]),
      error: (fields, message) => lines.push(['error', fields, message]),
    };
    t = await startServer({ heartbeat: { intervalMs: 0 }, logger });
    const client = await connectRaw(t.wsUrl('user_id=evil%0Aline'));
    clients.push(client);
    const clientId: string = (await client.waitFor((m) => m.type === 'connected')).payload.client_id;
    client.send({ action: 'subscribe', task_id: 't' });
    await client.waitFor((m) => m.type === 'subscribed');
    const connected = lines.find(([, , message]) => message === 'WebSocket client connected')!;
    expect(connected[0]).toBe('info');
    expect(connected[1].userId).toBe('evil\\u000aline');
    const infoText = JSON.stringify(lines.filter(([level]) => level !== 'debug'));
    expect(infoText).not.toContain(clientId);
    expect(
      lines.some(([level, , message]) => level === 'debug' && message === 'client subscribed to task'),
    ).toBe(true);
  });

  it('skips the per-connection lines a pino-style logger says it would not write', async () => {
    const lines: string[] = [];
    const logger: Logger = {
      debug: (_fields, message) => lines.push(`debug ${message}`),
      info: (_fields, message) => lines.push(`info ${message}`),
      warn: (_fields, message) => lines.push(`warn ${message}`),
      error: (_fields, message) => lines.push(`error ${message}`),
      isLevelEnabled: (level) => level === 'info',
    };
    t = await startServer({ heartbeat: { intervalMs: 0 }, logger });
    const client = await connectRaw(t.wsUrl('user_id=u'));
    await client.waitFor((m) => m.type === 'connected');
    client.send({ action: 'subscribe', task_id: 't' });
    await client.waitFor((m) => m.type === 'subscribed');
    await client.close();
    await waitUntil(() => lines.includes('info WebSocket client disconnected'));
    expect(lines).toEqual(['info WebSocket client connected', 'info WebSocket client disconnected']);
  });
});
