/**
 * A client that stops reading while 50,000 events are published: the server's memory stays
 * bounded, the client is cut off with 4009 after the grace period, a reading client on the
 * same tasks sees no change in latency and loses nothing, and the cut-off client resumes to
 * the task's terminal state. The client "stops reading" by pausing its TCP socket; the
 * kernel then buffers a few MB on loopback before the server's own buffer grows, so the
 * limits are tight (64 KiB high-water mark, 500 ms grace) and messages are 500 characters.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { connectRaw, type RawClient, type WireMessage } from '../helpers/raw-client.js';
import { waitUntil } from '../helpers/wait.js';

let t: TestServer | undefined;
const clients: RawClient[] = [];
const readers: LiveReader[] = [];
/** Sockets a test paused; resumed before closing, or their close handshake would never finish. */
const paused = new Set<{ resume(): void }>();
afterEach(async () => {
  for (const socket of paused) socket.resume();
  paused.clear();
  await Promise.all(readers.splice(0).map((r) => r.close()));
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await t?.close();
  t = undefined;
});

/**
 * A full collection, so RSS readings compare like with like. The vitest worker runs without
 * `--expose-gc`; V8 can still hand out its `gc` function to a fresh context once the flag is set.
 */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

const rssMiB = (): number => process.memoryUsage().rss / 2 ** 20;

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};

/** Stops reading the client's TCP socket (`ws` keeps it in a private field). */
function stopReading(client: RawClient): () => void {
  const socket = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause();
  paused.add(socket);
  return () => {
    paused.delete(socket);
    socket.resume();
  };
}

/**
 * A reading client that keeps no messages, only what the test checks: per task, that every
 * event continues the previous one (no gap, no fold), and when each `probe` event arrived.
 */
class LiveReader {
  readonly lastSeq = new Map<string, number>();
  readonly problems: string[] = [];
  readonly statuses: WireMessage[] = [];
  private readonly arrivals = new Map<number, number>();
  private wake: (() => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    readers.push(this);
    ws.on('message', (data) => {
      const now = performance.now();
      for (const line of data.toString().split('\n')) {
        if (line === '') continue;
        const message = JSON.parse(line) as WireMessage;
        if (typeof message.seq !== 'number' || message.snapshot === true) continue;
        const previous = this.lastSeq.get(message.task_id) ?? 0;
        if (message.seq !== previous + 1 || message.coalesced_from !== undefined) {
          if (this.problems.length < 5)
            this.problems.push(
              `${message.task_id}: ${previous} -> ${JSON.stringify({ seq: message.seq, coalesced_from: message.coalesced_from })}`,
            );
        }
        this.lastSeq.set(message.task_id, message.seq);
        if (message.type === 'status') this.statuses.push(message);
        if (message.task_id === 'probe') this.arrivals.set(message.seq, now);
      }
      this.wake?.();
    });
  }

  static async connect(url: string, taskIds: readonly string[]): Promise<LiveReader> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const reader = new LiveReader(ws);
    const subscribed = new Set<string>();
    await new Promise<void>((resolve) => {
      const onMessage = (data: WebSocket.RawData): void => {
        const message = JSON.parse(data.toString()) as WireMessage;
        if (message.type === 'subscribed') subscribed.add(message.task_id);
        if (subscribed.size < taskIds.length) return;
        ws.off('message', onMessage);
        resolve();
      };
      ws.on('message', onMessage);
      for (const taskId of taskIds) ws.send(JSON.stringify({ action: 'subscribe', task_id: taskId }));
    });
    return reader;
  }

  /** When the probe event `seq` arrived (performance.now()), waiting for it if need be. */
  async arrivalOf(seq: number, timeoutMs = 5_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const at = this.arrivals.get(seq);
      if (at !== undefined) return at;
      if (performance.now() > deadline) throw new Error(`probe ${seq} did not arrive within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    this.ws.close();
    await closed;
  }
}

const MESSAGE = 'x'.repeat(500);

describe('a client that stops reading', () => {
  it('is cut off with 4009 while 50,000 events are published, with bounded server memory, unchanged latency for others, and resumes to the terminal status', async () => {
    const server = await startServer({
      heartbeat: { intervalMs: 0 },
      sessionTtlMs: 60_000,
      limits: { highWaterBytes: 64 * 1024, slowConsumerGraceMs: 500 },
    });
    t = server;
    const slow = await connectRaw(server.wsUrl('user_id=slow'));
    clients.push(slow);
    const slowId = (await slow.waitFor((m) => m.type === 'connected')).payload.client_id as string;
    slow.send({ action: 'subscribe', task_id: 'flood' });
    await slow.waitFor((m) => m.type === 'subscribed');
    const reader = await LiveReader.connect(server.wsUrl('user_id=reader'), ['flood', 'probe']);

    /** Publish-to-receipt time of one probe event at the reading client. */
    const probe = async (): Promise<number> => {
      const started = performance.now();
      const receipt = await server.server.publish('probe', { progress: 1 });
      return (await reader.arrivalOf(receipt.seq)) - started;
    };
    /** Publishes `count` flood events, probing the reader every 100 and sampling RSS. */
    const flood = async (count: number, onProbe: (latencyMs: number) => void, deadlineMs: number) => {
      let peak = rssMiB();
      for (let i = 0; i < count; i++) {
        await server.server.publish('flood', { progress: i % 100, message: MESSAGE });
        if (i % 100 === 99) {
          onProbe(await probe());
          peak = Math.max(peak, rssMiB());
          if (performance.now() > deadlineMs)
            throw new Error(`flood of ${count} did not finish in time (at ${i})`);
        } else if (i % 50 === 49) {
          // A producer in a real app yields to I/O now and then; so does this one.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      return peak;
    };

    // Baseline: the same load while both clients read.
    const baseline: number[] = [];
    await flood(20_000, (ms) => baseline.push(ms), performance.now() + 30_000);
    await slow.waitFor((m) => m.task_id === 'flood' && m.seq === 20_000, 10_000);
    collectGarbage();
    const rssBefore = rssMiB();

    // The slow client stops reading; 50,000 more events.
    const resumeReading = stopReading(slow);
    const stalled: number[] = [];
    const whileCoalescing: number[] = [];
    const floodStarted = performance.now();
    const peak = await flood(
      50_000,
      (ms) => {
        stalled.push(ms);
        if (server.server.metrics().slowConsumers === 1) whileCoalescing.push(ms);
      },
      performance.now() + 45_000,
    );
    const floodMs = performance.now() - floodStarted;
    const done = await server.server.setStatus('flood', 'completed');
    await waitUntil(
      () => server.server.metrics().slowConsumerDisconnectsTotal === 1,
      5_000,
      'the 4009 cut-off',
    );
    collectGarbage();
    const rssAfter = rssMiB();

    console.info(
      `slow consumer: 50000 events in ${Math.round(floodMs)} ms; rss ${rssBefore.toFixed(1)} MiB -> peak ${peak.toFixed(1)} (+${(peak - rssBefore).toFixed(1)}), ` +
        `after gc ${rssAfter.toFixed(1)} (+${(rssAfter - rssBefore).toFixed(1)}); reader latency p50/p99/max ms: ` +
        `baseline ${percentile(baseline, 50).toFixed(2)}/${percentile(baseline, 99).toFixed(2)}/${Math.max(...baseline).toFixed(2)} (n=${baseline.length}), ` +
        `stalled ${percentile(stalled, 50).toFixed(2)}/${percentile(stalled, 99).toFixed(2)}/${Math.max(...stalled).toFixed(2)} (n=${stalled.length}), ` +
        `while coalescing n=${whileCoalescing.length} p99 ${percentile(whileCoalescing, 99).toFixed(2)}; ` +
        `coalesced ${server.server.metrics().coalescedEventsTotal}`,
    );

    // Memory: bounded while the client was stalled, and nothing retained after it was cut off.
    expect(peak - rssBefore).toBeLessThan(64);
    expect(rssAfter - rssBefore).toBeLessThan(32);
    // Others: the reader got every event, in order, unfolded, and its latency did not move.
    await waitUntil(() => reader.statuses.length === 1, 5_000, 'the reader’s status');
    expect(reader.problems).toEqual([]);
    expect(reader.lastSeq.get('flood')).toBe(done.seq);
    expect(reader.statuses[0]).toMatchObject({
      type: 'status',
      seq: done.seq,
      payload: { status: 'completed' },
    });
    expect(whileCoalescing.length).toBeGreaterThanOrEqual(5);
    // 50 ms, unless the machine itself is that noisy (then the baseline, taken the same way, says so).
    expect(percentile(stalled, 99)).toBeLessThan(Math.max(50, 2 * percentile(baseline, 99)));
    expect(percentile(stalled, 50)).toBeLessThan(percentile(baseline, 50) + 5);

    // The slow client reads again: what was on the wire, in order (folds marked), then 4009.
    resumeReading();
    expect(await slow.closed).toEqual({ code: 4009, reason: 'too slow a consumer' });
    let previous = 0;
    for (const event of slow.messages.filter((m) => m.task_id === 'flood' && typeof m.seq === 'number')) {
      expect(event.coalesced_from ?? event.seq).toBe(previous + 1);
      previous = event.seq;
    }
    expect(previous).toBeGreaterThan(20_000);
    expect(previous).toBeLessThan(done.seq);

    // It resumes and converges to the terminal state (history was trimmed, so it is told).
    const resumed = await connectRaw(server.wsUrl(`user_id=slow&old_client_id=${slowId}`));
    clients.push(resumed);
    expect((await resumed.waitFor((m) => m.type === 'reconnected')).payload).toMatchObject({
      client_id: slowId,
      resumed: true,
      subscribed: { flood: true },
    });
    const latest = await resumed.waitFor((m) => m.task_id === 'flood' && m.seq === done.seq);
    expect(latest).toMatchObject({ type: 'progress', snapshot: true, payload: { status: 'completed' } });
    expect(resumed.messages.map((m) => [m.type, m.payload.recovered])).toEqual([
      ['reconnected', undefined],
      ['subscribed', false],
      ['progress', undefined],
    ]);
  }, 90_000);

  it('resumes a client cut off while progress was held back from the last event actually sent, so it reaches the latest progress', async () => {
    const server = await startServer({
      heartbeat: { intervalMs: 0 },
      limits: { highWaterBytes: 64 * 1024, slowConsumerGraceMs: 300 },
    });
    t = server;
    const slow = await connectRaw(server.wsUrl('user_id=slow'));
    clients.push(slow);
    const slowId = (await slow.waitFor((m) => m.type === 'connected')).payload.client_id as string;
    slow.send({ action: 'subscribe', task_id: 'held' });
    await slow.waitFor((m) => m.type === 'subscribed');
    const resumeReading = stopReading(slow);
    // Publish until the server starts holding progress back (bounded in count and time).
    const deadline = performance.now() + 20_000;
    for (
      let i = 0;
      i < 100_000 && server.server.metrics().slowConsumers === 0 && performance.now() < deadline;
      i++
    ) {
      await server.server.publish('held', { progress: i % 100, message: MESSAGE });
      if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.server.metrics().slowConsumers).toBe(1);
    // These are held back and folded; the client never gets them on this socket.
    let last = 0;
    for (let i = 0; i < 5; i++)
      last = (await server.server.publish('held', { progress: 42, message: `held ${i}` })).seq;
    await waitUntil(
      () => server.server.metrics().slowConsumerDisconnectsTotal === 1,
      5_000,
      'the 4009 cut-off',
    );
    resumeReading();
    expect((await slow.closed).code).toBe(4009);
    const lastSent = Math.max(
      ...slow.messages.filter((m) => typeof m.seq === 'number').map((m) => m.seq as number),
    );
    expect(lastSent).toBeLessThan(last);

    const resumed = await connectRaw(server.wsUrl(`user_id=slow&old_client_id=${slowId}`));
    clients.push(resumed);
    expect((await resumed.waitFor((m) => m.type === 'reconnected')).payload).toMatchObject({
      client_id: slowId,
      resumed: true,
    });
    // The events after the last one sent (or the latest state) must follow; nothing else will.
    await resumed.waitFor((m) => m.task_id === 'held' && m.seq === last, 2_000).catch(() => undefined);
    expect(
      resumed.messages.filter((m) => m.task_id === 'held').map((m) => [m.type, m.seq, m.payload.message]),
    ).toEqual(
      Array.from({ length: last - lastSent }, (_, i) => [
        'progress',
        lastSent + i + 1,
        lastSent + i + 1 > last - 5 ? `held ${lastSent + i + 1 - (last - 4)}` : MESSAGE,
      ]),
    );
  }, 60_000);
});
