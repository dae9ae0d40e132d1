import { afterEach, describe, expect, it } from 'vitest';
import type { ProgressServerOptions } from '../../src/server/index.js';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { connectRaw, type RawClient } from '../helpers/raw-client.js';

let t: TestServer | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await t?.close();
  t = undefined;
});
const start = async (options: ProgressServerOptions) => {
  t = await startServer({ heartbeat: { intervalMs: 0 }, ...options });
  const client = await connectRaw(t.wsUrl('user_id=u'));
  clients.push(client);
  await client.waitFor((m) => m.type === 'connected');
  return client;
};

describe('message rate limit', () => {
  it('answers a burst beyond the bucket with one RATE_LIMITED error and keeps the socket open', async () => {
    const client = await start({ limits: { messagesPerSecond: 1, messageBurst: 5 } });
    client.send(Array.from({ length: 12 }, () => '{"type":"ping"}').join('\n'));
    await client.waitFor((m) => m.type === 'error');
    await client.waitForCount((m) => m.type === 'pong', 5);
    const replies = client.messages.slice(1).map((m) => (m.type === 'error' ? m.payload.code : m.type));
    expect(replies).toEqual(['pong', 'pong', 'pong', 'pong', 'pong', 'RATE_LIMITED']);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('closes with 4008 after maxRateViolations refused messages', async () => {
    const client = await start({ limits: { messagesPerSecond: 1, messageBurst: 2, maxRateViolations: 10 } });
    client.send(Array.from({ length: 30 }, () => '{"type":"ping"}').join('\n'));
    expect((await client.closed).code).toBe(4008);
  });
});

describe('slow consumers', () => {
  it('coalesces progress for a client that stops reading, never a status, and marks the fold', async () => {
    const client = await start({
      limits: { highWaterBytes: 16 * 1024, maxBufferedBytes: 64 * 1024 * 1024, slowConsumerGraceMs: 60_000 },
    });
    client.send({ action: 'subscribe', task_id: 'slow' });
    await client.waitFor((m) => m.type === 'subscribed');
    const socket = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const message = 'x'.repeat(500);
    const deadline = Date.now() + 15_000;
    // Publish until the server starts coalescing (bounded in count and time).
    for (
      let i = 0;
      i < 40_000 && t!.server.metrics().coalescedEventsTotal < 50 && Date.now() < deadline;
      i++
    ) {
      await t!.server.publish('slow', { progress: i % 100, message });
    }
    const last = await t!.server.setStatus('slow', 'completed');
    expect(t!.server.metrics().slowConsumers).toBe(1);
    socket.resume();
    const status = await client.waitFor((m) => m.type === 'status', 15_000);
    expect(status.seq).toBe(last.seq);
    const events = client.messages.filter((m) => m.task_id === 'slow' && typeof m.seq === 'number');
    // Every event continues the previous one, directly or through its fold.
    let previous = 0;
    for (const event of events) {
      expect(event.coalesced_from ?? event.seq).toBe(previous + 1);
      previous = event.seq;
    }
    expect(events.some((event) => event.coalesced_from !== undefined)).toBe(true);
    expect(previous).toBe(last.seq);
  });

  it('closes a client that stays above the high-water mark past the grace period with 4009', async () => {
    const client = await start({ limits: { highWaterBytes: 16 * 1024, slowConsumerGraceMs: 100 } });
    client.send({ action: 'subscribe', task_id: 'stuck' });
    await client.waitFor((m) => m.type === 'subscribed');
    const socket = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const message = 'x'.repeat(500);
    const deadline = Date.now() + 15_000;
    for (let i = 0; i < 100_000 && t!.server.stats().totalClients > 0 && Date.now() < deadline; i++) {
      await t!.server.publish('stuck', { progress: i % 100, message });
      if (i % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    socket.resume();
    expect((await client.closed).code).toBe(4009);
    expect(t!.server.metrics().slowConsumerDisconnectsTotal).toBe(1);
  });
});

describe('metrics', () => {
  it('counts connections, messages, publishes, resumes and latencies', async () => {
    const client = await start({});
    const clientId = client.messages[0]!.payload.client_id as string;
    client.send({ action: 'subscribe', task_id: 'm' });
    await client.waitFor((m) => m.type === 'subscribed');
    for (let i = 1; i <= 5; i++) await t!.server.publish('m', { progress: i });
    await client.waitFor((m) => m.seq === 5);
    await client.close();
    const resumed = await connectRaw(t!.wsUrl(`user_id=u&old_client_id=${clientId}`));
    clients.push(resumed);
    await resumed.waitFor((m) => m.type === 'reconnected');
    const stranger = await connectRaw(t!.wsUrl('user_id=u&old_client_id=client-unknown'));
    clients.push(stranger);
    await stranger.waitFor((m) => m.type === 'reconnected');
    const metrics = t!.server.metrics();
    expect(metrics).toMatchObject({
      connectedClients: 2,
      byUser: { u: 2 },
      connectionsOpenedTotal: 3,
      eventsPublishedTotal: 5,
      resumeAttemptsTotal: 2,
      resumeSuccessesTotal: 1,
      resumeSuccessRate: 0.5,
    });
    // connected + subscribed + 5 progress on the first socket, one greeting on each other.
    expect(metrics.messagesSentTotal).toBe(9);
    expect(metrics.deliveryLatency.count).toBe(5);
    expect(metrics.storageWriteLatency.count).toBe(5);
    expect(metrics.deliveryLatency.p99Ms).toBeGreaterThan(0);
  });

  it('renders the Prometheus text format', async () => {
    await start({
      authenticate: (req) => ({ userId: req.url.searchParams.get('user_id') ?? 'x', projectId: 'p"1' }),
    });
    await t!.server.publish('p', { progress: 1 });
    const text = t!.server.prometheusMetrics();
    expect(text).toContain(
      '# TYPE realtime_progress_connected_clients gauge\nrealtime_progress_connected_clients 1\n',
    );
    expect(text).toContain('realtime_progress_connected_clients_by_project{project="p\\"1"} 1');
    expect(text).toContain('realtime_progress_events_published_total 1');
    expect(text).toMatch(/realtime_progress_storage_write_latency_seconds_bucket\{le="\+Inf"\} 1\n/);
    expect(text).toContain('realtime_progress_storage_write_latency_seconds_count 1');
  });
});
