/**
 * Fuzzing the WebSocket endpoint over real sockets: 100,000 random and mutated frames from
 * fast-check (fixed seeds) against a server in its own process, which is then measured
 * (heap after a forced GC) and asked to serve a normal client. Plus the frame-size edge and
 * the one transport-level refusal (`ws` itself closes a text frame that is not UTF-8).
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ServerMessageSchema } from '../../src/shared/protocol.js';
import { type FuzzServer, startFuzzServer } from '../helpers/fuzz-child.js';
import { type FuzzFrame, sampleFrames } from '../helpers/fuzz-frames.js';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { connectRaw, type RawClient, seqsOf } from '../helpers/raw-client.js';

let fuzzServer: FuzzServer | undefined;
let t: TestServer | undefined;
const clients: RawClient[] = [];
const fuzzClients = new Set<FuzzClient>();
afterEach(async () => {
  await Promise.all([...fuzzClients].map((c) => c.close()));
  fuzzClients.clear();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await fuzzServer?.kill();
  fuzzServer = undefined;
  await t?.close();
  t = undefined;
});

/** Codes the server may answer bad input with when `authorize` allows everything. */
const INPUT_ERROR_CODES = [
  'BAD_JSON',
  'BAD_MESSAGE',
  'UNKNOWN_ACTION',
  'INVALID_TASK_ID',
  'TOO_MANY_SUBSCRIPTIONS',
];

/** What the fuzz sockets saw, summed over all of them. */
interface FuzzTally {
  /** Replies by `type`, and errors by `error:CODE`. */
  readonly replies: Map<string, number>;
  /** Replies that are not a valid server message (first few kept). */
  readonly malformed: string[];
  /** Close codes of sockets the server closed. */
  readonly serverCloses: number[];
}

/**
 * A fuzzing socket that keeps counts instead of messages, validates every reply against the
 * protocol schema, and paces itself: after each chunk it sends an `unsubscribe` of a unique
 * sentinel task and waits for that answer, which the server sends after every synchronous
 * reply to the chunk.
 */
class FuzzClient {
  private ws: WebSocket | undefined;
  private closing = false;
  private sentinel = 0;
  private wake: (() => void) | undefined;
  /** The last sentinel the server answered. */
  private answered: string | undefined;

  constructor(
    private readonly url: string,
    private readonly tally: FuzzTally,
  ) {
    fuzzClients.add(this);
  }

  async open(): Promise<void> {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.closing = false;
    ws.on('message', (data) => this.receive(data.toString()));
    ws.on('close', (code) => {
      if (!this.closing) this.tally.serverCloses.push(code);
      this.wake?.();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
  }

  /** Sends `frames`, then waits until the server has answered the chunk's synchronous part. */
  async sendChunk(frames: readonly FuzzFrame[]): Promise<void> {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) throw new Error('fuzz socket is not open');
    for (const frame of frames) ws.send(frame.data, { binary: frame.binary });
    const sentinel = `sentinel-${++this.sentinel}`;
    const answered = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${sentinel} within 10 s`)), 10_000);
      this.wake = () => {
        if (this.answered === sentinel || ws.readyState !== WebSocket.OPEN) {
          clearTimeout(timer);
          this.wake = undefined;
          if (this.answered === sentinel) resolve();
          else reject(new Error(`socket closed by the server while waiting for ${sentinel}`));
        }
      };
    });
    ws.send(JSON.stringify({ action: 'unsubscribe', task_id: sentinel }));
    await answered;
  }

  private receive(text: string): void {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        if (this.tally.malformed.length < 5) this.tally.malformed.push(line.slice(0, 200));
        continue;
      }
      const parsed = ServerMessageSchema.safeParse(value);
      if (!parsed.success) {
        if (this.tally.malformed.length < 5) this.tally.malformed.push(line.slice(0, 200));
        continue;
      }
      const message = parsed.data;
      const key =
        message.type === 'error' && 'code' in message.payload
          ? `error:${message.payload.code}`
          : message.type;
      this.tally.replies.set(key, (this.tally.replies.get(key) ?? 0) + 1);
      if (message.type === 'unsubscribed' && message.task_id.startsWith('sentinel-')) {
        this.answered = message.task_id;
        this.wake?.();
      }
    }
  }

  async close(): Promise<void> {
    const ws = this.ws;
    if (ws === undefined || ws.readyState === WebSocket.CLOSED) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.close();
    await closed;
  }
}

const newTally = (): FuzzTally => ({ replies: new Map(), malformed: [], serverCloses: [] });

/**
 * Runs `sockets` fuzz sockets in parallel, each sending `framesPerSocket` frames in chunks of
 * `chunk`, reconnecting every `reconnectEvery` frames; `afterChunk` runs after each chunk of
 * socket 0 (the test publishes there).
 */
async function fuzz(
  server: FuzzServer,
  tally: FuzzTally,
  run: { seed: number; sockets: number; framesPerSocket: number; chunk: number; reconnectEvery: number },
  afterChunk: () => Promise<void>,
): Promise<void> {
  await Promise.all(
    Array.from({ length: run.sockets }, async (_, socket) => {
      // One socket asks for the seed's newline batching of server messages.
      const query = `user_id=fuzzer-${socket}${socket === run.sockets - 1 ? '&batch=1' : ''}`;
      const client = new FuzzClient(server.wsUrl(query), tally);
      await client.open();
      for (let sent = 0; sent < run.framesPerSocket; sent += run.chunk) {
        if (sent > 0 && sent % run.reconnectEvery === 0) {
          await client.close();
          await client.open();
        }
        // Frames are drawn per chunk so that memory stays flat; the seed fixes every one.
        const frames = sampleFrames(run.seed + socket * 1_000_003 + sent, run.chunk);
        await client.sendChunk(frames);
        if (socket === 0) await afterChunk();
      }
      await client.close();
    }),
  );
}

describe('fuzzing the socket endpoint', () => {
  it('survives 100,000 random and mutated frames: no crash, no close, other clients untouched, heap back to baseline', async () => {
    const server = await startFuzzServer({
      heartbeat: { intervalMs: 0 },
      // Sessions of the closed fuzz sockets expire at once, so the heap check sees only leaks.
      sessionTtlMs: 1,
      cleanupIntervalMs: 0,
      // Every frame must reach the decoder: the rate limit has its own tests.
      limits: { messagesPerSecond: 1_000_000, messageBurst: 1_000_000 },
    });
    fuzzServer = server;

    // A normal client that must not notice the fuzzing.
    const observer = await connectRaw(server.wsUrl('user_id=observer'));
    clients.push(observer);
    observer.send({ action: 'subscribe', task_id: 'observed' });
    await observer.waitFor((m) => m.type === 'subscribed');
    let lastSeq = 0;
    let progress = 0;
    const publish = async (): Promise<void> => {
      lastSeq = (await server.request({ type: 'publish', taskId: 'observed', progress: progress++ % 100 }))
        .seq;
    };

    // Warm-up: the same code paths once, so that the baseline includes compiled code and caches.
    const warmTally = newTally();
    await fuzz(
      server,
      warmTally,
      { seed: 7, sockets: 2, framesPerSocket: 4_000, chunk: 250, reconnectEvery: 2_000 },
      publish,
    );
    for (let i = 0; i < 120; i++) await publish(); // fills the task's bounded history
    const baseline = await server.request({ type: 'heap' });

    const tally = newTally();
    const started = performance.now();
    await fuzz(
      server,
      tally,
      { seed: 20_260_221, sockets: 4, framesPerSocket: 25_000, chunk: 250, reconnectEvery: 5_000 },
      publish,
    );
    const elapsedMs = performance.now() - started;

    const stats = await server.request({ type: 'stats' });
    expect(server.crashes).toEqual([]);
    expect(stats.errors).toEqual([]);
    expect(stats.warnings).toBe(0);
    expect(tally.serverCloses).toEqual([]);
    expect(tally.malformed).toEqual([]);
    // Every reply is a documented one, and the fuzz reached every input error.
    const kinds = [...tally.replies.keys()].sort();
    expect(kinds.filter((k) => k.startsWith('error:'))).toEqual(
      INPUT_ERROR_CODES.map((c) => `error:${c}`).sort(),
    );
    // Fuzzers that subscribe to the observed task get its snapshot and events: `progress`.
    expect(kinds.filter((k) => !k.startsWith('error:'))).toEqual([
      'connected',
      'pong',
      'progress',
      'subscribed',
      'unsubscribed',
    ]);

    // The observer got exactly the observed task's events, in order, and nothing else.
    await observer.waitFor((m) => m.seq === lastSeq, 10_000);
    expect(seqsOf(observer, 'observed')).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
    expect(observer.messages.map((m) => m.type)).toEqual([
      'connected',
      'subscribed',
      ...Array(lastSeq).fill('progress'),
    ]);

    // Only the observer is left, and the heap is back where it was.
    expect((await server.request({ type: 'stats' })).totalClients).toBe(1);
    const after = await server.request({ type: 'heap' });
    const growth = after.heapUsed - baseline.heapUsed;
    console.info(
      `fuzz: 100000 frames in ${Math.round(elapsedMs)} ms (${Math.round(100_000 / (elapsedMs / 1000))} frames/s); ` +
        `heap ${(baseline.heapUsed / 2 ** 20).toFixed(1)} -> ${(after.heapUsed / 2 ** 20).toFixed(1)} MiB ` +
        `(${(growth / 2 ** 10).toFixed(0)} KiB); rss ${(after.rss / 2 ** 20).toFixed(0)} MiB; replies ${JSON.stringify(Object.fromEntries(tally.replies))}`,
    );
    expect(growth).toBeLessThan(2 * 2 ** 20);
    expect(elapsedMs).toBeLessThan(60_000);

    // And it still serves a normal client end to end.
    const fresh = await connectRaw(server.wsUrl('user_id=fresh'));
    clients.push(fresh);
    await fresh.waitFor((m) => m.type === 'connected');
    fresh.send({ action: 'subscribe', task_id: 'fresh-task' });
    await fresh.waitFor((m) => m.type === 'subscribed' && m.task_id === 'fresh-task');
    const done = await server.request({ type: 'status', taskId: 'fresh-task' });
    expect(await fresh.waitFor((m) => m.type === 'status')).toMatchObject({
      task_id: 'fresh-task',
      seq: done.seq,
      payload: { status: 'completed' },
    });
    fresh.send({ type: 'ping' });
    await fresh.waitFor((m) => m.type === 'pong');
  }, 120_000);
});

describe('frames at the edges of the transport', () => {
  const start = async (maxFrameBytes: number) => {
    t = await startServer({ heartbeat: { intervalMs: 0 }, limits: { maxFrameBytes } });
    const observer = await connectRaw(t.wsUrl('user_id=observer'));
    clients.push(observer);
    observer.send({ action: 'subscribe', task_id: 'observed' });
    await observer.waitFor((m) => m.type === 'subscribed');
    const attacker = await connectRaw(t.wsUrl('user_id=attacker'));
    clients.push(attacker);
    await attacker.waitFor((m) => m.type === 'connected');
    return { server: t, observer, attacker };
  };

  /** The observer still gets live events after the attacker's socket went down. */
  const expectObserverServed = async (server: TestServer, observer: RawClient) => {
    const receipt = await server.server.publish('observed', { progress: 1 });
    await observer.waitFor((m) => m.seq === receipt.seq);
    expect(observer.messages.map((m) => m.type)).toEqual(['connected', 'subscribed', 'progress']);
  };

  it('accepts a frame of exactly maxFrameBytes bytes and closes with 1009 one byte above, counting bytes not characters', async () => {
    const { server, observer, attacker } = await start(1024);
    // '€' is three bytes in UTF-8: the frame is 1024 bytes but far fewer characters.
    const frame = (bytes: number) => {
      const head = '{"type":"ping","pad":"';
      const tail = '"}';
      const room = bytes - head.length - tail.length;
      const text = `${head}${'€'.repeat(Math.floor(room / 3))}${'x'.repeat(room % 3)}${tail}`;
      expect(Buffer.byteLength(text)).toBe(bytes);
      return text;
    };
    attacker.send(frame(1024));
    await attacker.waitFor((m) => m.type === 'pong');
    attacker.send(frame(1025));
    expect((await attacker.closed).code).toBe(1009);
    await expectObserverServed(server, observer);
  });

  it('closes with 1009 when the fragments of one message add up past maxFrameBytes', async () => {
    const { server, observer, attacker } = await start(1024);
    const fragment = 'x'.repeat(400);
    attacker.ws.send(`{"type":"ping","pad":"${fragment}`, { fin: false });
    attacker.ws.send(fragment, { fin: false });
    attacker.ws.send(`${fragment}"}`, { fin: true });
    expect((await attacker.closed).code).toBe(1009);
    expect(attacker.messages.map((m) => m.type)).toEqual(['connected']);
    await expectObserverServed(server, observer);
  });

  it('closes a text frame that is not UTF-8 with 1007 (RFC 6455), and only that socket', async () => {
    const { server, observer, attacker } = await start(65_536);
    attacker.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await attacker.closed).code).toBe(1007);
    await expectObserverServed(server, observer);
  });

  it('reads the same bytes sent as a binary frame as text and answers BAD_JSON', async () => {
    const { attacker } = await start(65_536);
    attacker.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: true });
    expect((await attacker.waitFor((m) => m.type === 'error')).payload.code).toBe('BAD_JSON');
    attacker.send({ type: 'ping' });
    await attacker.waitFor((m) => m.type === 'pong');
  });

  it('answers a frame of only blank lines with BAD_JSON, like any other frame that holds no message', async () => {
    const { attacker } = await start(65_536);
    attacker.send('\n \r\n');
    attacker.send({ type: 'ping' });
    await attacker.waitFor((m) => m.type === 'pong');
    expect(attacker.messages.slice(1).map((m) => (m.type === 'error' ? m.payload.code : m.type))).toEqual([
      'BAD_JSON',
      'pong',
    ]);
  });

  it('counts frames of only blank lines against the rate limit', async () => {
    t = await startServer({
      heartbeat: { intervalMs: 0 },
      limits: { messagesPerSecond: 1, messageBurst: 5, maxRateViolations: 10 },
    });
    const attacker = await connectRaw(t.wsUrl('user_id=attacker'));
    clients.push(attacker);
    await attacker.waitFor((m) => m.type === 'connected');
    // Each frame is one message for the bucket; 5 fit the burst, 10 more are violations.
    for (let i = 0; i < 15; i++) attacker.send('\n');
    attacker.send({ type: 'ping' });
    const outcome = await Promise.race([
      attacker.closed.then(({ code }) => `closed ${code}`),
      attacker.waitFor((m) => m.type === 'pong').then(() => 'answered a ping after 15 refused frames'),
    ]);
    expect(outcome).toBe('closed 4008');
  });
});
