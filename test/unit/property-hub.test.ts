/**
 * Property tests of the hub with in-memory sockets and a frozen clock (no network): random
 * and mutated frames from one client never change another client's subscriptions or stream,
 * close its own socket only for the documented rate limit, and valid messages take effect
 * in the order they were sent; `authorize` and the subscription cap hold however requests race.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalBus } from '../../src/adapters/bus/local.js';
import { createMemoryStorage } from '../../src/adapters/storage/memory.js';
import { createAuthHooks } from '../../src/server/auth.js';
import type { ServerSocket } from '../../src/server/connection.js';
import { Hub } from '../../src/server/hub.js';
import { silentLogger } from '../../src/server/logger.js';
import { MetricsRecorder } from '../../src/server/metrics.js';
import { type LimitOptions, resolveServerOptions } from '../../src/server/options.js';
import { createProgressPublisher, type ProgressPublisher } from '../../src/server/progress-service.js';
import type { Authorize } from '../../src/server/types.js';
import { decodeClientFrame } from '../../src/shared/decode.js';
import { type ServerMessage, ServerMessageSchema } from '../../src/shared/protocol.js';
import { frameText } from '../helpers/fuzz-frames.js';

const SEED = 20_260_221;

/** A socket that records what the hub sends and how it closes. */
class FakeSocket implements ServerSocket {
  readonly frames: string[] = [];
  readonly closes: Array<[number, string]> = [];
  readonly bufferedAmount = 0;

  send(data: string): void {
    this.frames.push(data);
  }

  close(code: number, reason: string): void {
    this.closes.push([code, reason]);
  }

  /** Every message sent, validated against the protocol schema. */
  messages(): ServerMessage[] {
    return this.frames.map((frame) => ServerMessageSchema.parse(JSON.parse(frame)));
  }
}

interface Harness {
  readonly hub: Hub;
  readonly publisher: ProgressPublisher;
  connect(userId: string): { socket: FakeSocket; connection: ReturnType<Hub['open']> };
  /** Lets every pending storage, bus and authorize step finish (bounded). */
  settle(): Promise<void>;
}

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map(async (h) => Promise.all([h.hub.close(), h.publisher.close()])));
});

function harness(options: { limits?: LimitOptions; authorize?: Authorize } = {}): Harness {
  const storage = createMemoryStorage();
  const bus = createLocalBus();
  const resolved = resolveServerOptions({ heartbeat: { intervalMs: 0 }, limits: options.limits ?? {} });
  // The clock never moves: the token bucket never refills, so its verdicts are exact.
  const now = () => 1_800_000_000_000;
  const hub = new Hub({
    frameTexts: (texts) => new TextEncoder().encode(texts.join('')),
    metrics: new MetricsRecorder(),
    storage,
    bus,
    auth: createAuthHooks(undefined, options.authorize, silentLogger),
    logger: silentLogger,
    options: resolved,
    now,
  });
  const publisher = createProgressPublisher({ storage, bus });
  const sockets: FakeSocket[] = [];
  const h: Harness = {
    hub,
    publisher,
    connect(userId) {
      const socket = new FakeSocket();
      sockets.push(socket);
      const connection = hub.open(socket, {
        identity: { userId, projectId: '' },
        oldClientId: undefined,
        resume: null,
        batch: false,
        ip: '127.0.0.1',
        userAgent: 'property-test',
      });
      return { socket, connection };
    },
    async settle() {
      let quiet = 0;
      let last = -1;
      for (let round = 0; round < 200 && quiet < 3; round++) {
        await new Promise((resolve) => setImmediate(resolve));
        const sent = sockets.reduce((sum, socket) => sum + socket.frames.length, 0);
        quiet = sent === last ? quiet + 1 : 0;
        last = sent;
      }
    },
  };
  harnesses.push(h);
  return h;
}

const subscribe = (taskId: string, since?: number) =>
  JSON.stringify(
    since === undefined
      ? { action: 'subscribe', task_id: taskId }
      : { action: 'subscribe', task_id: taskId, since },
  );
const unsubscribe = (taskId: string) => JSON.stringify({ action: 'unsubscribe', task_id: taskId });

/** Task events (`seq` set, not snapshots) of one task as the socket got them. */
const seqsOf = (messages: ServerMessage[], taskId: string): number[] =>
  messages.flatMap((m) => ('seq' in m && m.task_id === taskId && !('snapshot' in m) ? [m.seq] : []));

describe('one client’s frames and another client’s state', () => {
  const PUBLISH = Symbol('publish');

  it('never change another client’s subscriptions or stream, and close the sender only for the rate limit (4008)', async () => {
    const reached = { rateLimited: 0, closed: 0, published: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof({ arbitrary: frameText, weight: 5 }, { arbitrary: fc.constant(PUBLISH), weight: 1 }),
          { maxLength: 40 },
        ),
        async (steps) => {
          // A small bucket, so that a run of 40 frames reaches both rate-limit verdicts.
          const h = harness({ limits: { messageBurst: 20, maxRateViolations: 10 } });
          const bob = h.connect('bob');
          h.hub.receive(bob.connection, `${subscribe('observed')}\n${subscribe('bob-only')}`);
          await h.settle();
          const mallory = h.connect('mallory');

          let decoded = 0;
          let published = 0;
          for (const step of steps) {
            if (step === PUBLISH) {
              await h.publisher.publish(published % 2 === 0 ? 'observed' : 'bob-only', {
                progress: published % 100,
              });
              published++;
            } else {
              if (mallory.socket.closes.length === 0) decoded += decodeClientFrame(step).length;
              h.hub.receive(mallory.connection, step);
            }
          }
          await h.settle();

          // Bob: same subscriptions, never closed, exactly the published events and nothing else.
          expect(bob.socket.closes).toEqual([]);
          expect([...bob.connection.subscriptions.keys()]).toEqual(['observed', 'bob-only']);
          const bobMessages = bob.socket.messages();
          expect(bobMessages.map((m) => m.type)).toEqual([
            'connected',
            'subscribed',
            'subscribed',
            ...Array(published).fill('progress'),
          ]);
          expect(seqsOf(bobMessages, 'observed')).toEqual(
            Array.from({ length: Math.ceil(published / 2) }, (_, i) => i + 1),
          );
          expect(seqsOf(bobMessages, 'bob-only')).toEqual(
            Array.from({ length: Math.floor(published / 2) }, (_, i) => i + 1),
          );

          // Mallory: every answer is a protocol message; closed exactly when the bucket (20)
          // and then maxRateViolations (10) are used up, with one RATE_LIMITED error between.
          const malloryMessages = mallory.socket.messages();
          const rateLimited = malloryMessages.filter(
            (m) => m.type === 'error' && 'code' in m.payload && m.payload.code === 'RATE_LIMITED',
          );
          expect(rateLimited).toHaveLength(decoded > 20 ? 1 : 0);
          expect(mallory.socket.closes).toEqual(decoded >= 30 ? [[4008, 'rate limit exceeded']] : []);
          if (rateLimited.length > 0) reached.rateLimited++;
          if (mallory.socket.closes.length > 0) reached.closed++;
          if (published > 0) reached.published++;
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
    console.info(`hub isolation runs: ${JSON.stringify(reached)} of 150`);
    // Both sides of the rate-limit verdict, and live events during the flood, were exercised.
    expect(reached.rateLimited).toBeGreaterThan(2);
    expect(reached.closed).toBeGreaterThan(2);
    expect(reached.published).toBeGreaterThan(30);
  });
});

describe('valid messages take effect in the order they were sent', () => {
  it('processes a subscribe and an unsubscribe of the same task, sent back to back, in that order', async () => {
    const h = harness();
    const alice = h.connect('alice');
    h.hub.receive(alice.connection, subscribe('t'));
    h.hub.receive(alice.connection, unsubscribe('t'));
    await h.settle();
    await h.publisher.publish('t', { progress: 1 });
    await h.settle();
    expect(alice.socket.messages().map((m) => [m.type, m.task_id])).toEqual([
      ['connected', ''],
      ['subscribed', 't'],
      ['unsubscribed', 't'],
    ]);
    expect([...alice.connection.subscriptions.keys()]).toEqual([]);
  });

  it('ends with the subscriptions a sequential reading of the messages gives, each answered in order with the topics at that point', async () => {
    const message = fc.record({
      subscribe: fc.boolean(),
      taskId: fc.constantFrom('a', 'b', 'c'),
      batchWithNext: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 12 }), async (messages) => {
        const h = harness();
        const alice = h.connect('alice');
        // Sent as fast as a client can: no waiting between frames.
        let frame: string[] = [];
        for (const m of messages) {
          frame.push(m.subscribe ? subscribe(m.taskId) : unsubscribe(m.taskId));
          if (!m.batchWithNext) {
            h.hub.receive(alice.connection, frame.join('\n'));
            frame = [];
          }
        }
        if (frame.length > 0) h.hub.receive(alice.connection, frame.join('\n'));
        await h.settle();

        const model = new Set<string>();
        const expected = messages.map((m) => {
          if (m.subscribe) model.add(m.taskId);
          else model.delete(m.taskId);
          return [m.subscribe ? 'subscribed' : 'unsubscribed', m.taskId, [...model].sort()];
        });
        const answers = alice.socket
          .messages()
          .flatMap((m) =>
            m.type === 'subscribed' || m.type === 'unsubscribed'
              ? [[m.type, m.task_id, [...m.payload.topics].sort()]]
              : [],
          );
        expect(answers).toEqual(expected);
        expect([...alice.connection.subscriptions.keys()].sort()).toEqual([...model].sort());
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('authorize and the subscription cap under racing requests', () => {
  /** An `authorize` that answers after a number of event-loop turns taken from `delays`. */
  const slowAuthorize = (
    delays: readonly number[],
    allowed: (userId: string, taskId: string) => boolean,
  ): Authorize => {
    let call = 0;
    return async (identity, taskId) => {
      const turns = delays[call++ % Math.max(delays.length, 1)] ?? 0;
      for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
      return allowed(identity.userId, taskId);
    };
  };

  it('never lets a client follow or see a task authorize refuses, however its subscribes are framed and timed', async () => {
    const request = fc.record({
      taskId: fc.constantFrom('secret-1', 'secret-2', 'public-1'),
      since: fc.option(fc.nat({ max: 5 }), { nil: undefined }),
      batchWithNext: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(request, { minLength: 1, maxLength: 15 }),
        fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.constantFrom('secret-1', 'secret-2', 'public-1'), { maxLength: 10 }),
        async (requests, delays, publishes) => {
          const h = harness({
            authorize: slowAuthorize(
              delays,
              (userId, taskId) => userId === 'owner' || !taskId.startsWith('secret'),
            ),
          });
          const owner = h.connect('owner');
          h.hub.receive(owner.connection, `${subscribe('secret-1')}\n${subscribe('secret-2')}`);
          await h.settle();
          const mallory = h.connect('mallory');
          let frame: string[] = [];
          for (const r of requests) {
            frame.push(subscribe(r.taskId, r.since));
            if (!r.batchWithNext) {
              h.hub.receive(mallory.connection, frame.join('\n'));
              frame = [];
            }
          }
          if (frame.length > 0) h.hub.receive(mallory.connection, frame.join('\n'));
          for (const taskId of publishes) await h.publisher.publish(taskId, { progress: 1 });
          await h.settle();

          expect(
            [...mallory.connection.subscriptions.keys()].filter((id) => id.startsWith('secret')),
          ).toEqual([]);
          const seenSecret = mallory.socket.messages().filter((m) => m.task_id.startsWith('secret'));
          expect(
            seenSecret.every(
              (m) => m.type === 'error' && 'code' in m.payload && m.payload.code === 'FORBIDDEN',
            ),
          ).toBe(true);
          expect(seenSecret).toHaveLength(requests.filter((r) => r.taskId.startsWith('secret')).length);
          // The owner got every event of its tasks.
          for (const taskId of ['secret-1', 'secret-2']) {
            const count = publishes.filter((p) => p === taskId).length;
            expect(seqsOf(owner.socket.messages(), taskId)).toEqual(
              Array.from({ length: count }, (_, i) => i + 1),
            );
          }
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('never holds more than maxSubscriptionsPerClient, and refuses each subscribe past it with TOO_MANY_SUBSCRIPTIONS', async () => {
    const cap = 5;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 * cap }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 15 }),
        fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 10 }),
        async (taskIds, batching, delays) => {
          const h = harness({
            limits: { maxSubscriptionsPerClient: cap },
            authorize: slowAuthorize(delays, () => true),
          });
          const alice = h.connect('alice');
          let frame: string[] = [];
          taskIds.forEach((taskId, i) => {
            frame.push(subscribe(taskId));
            if (!(batching[i % batching.length] ?? false)) {
              h.hub.receive(alice.connection, frame.join('\n'));
              frame = [];
            }
          });
          if (frame.length > 0) h.hub.receive(alice.connection, frame.join('\n'));
          await h.settle();

          const messages = alice.socket.messages();
          const refused = messages.filter(
            (m) => m.type === 'error' && 'code' in m.payload && m.payload.code === 'TOO_MANY_SUBSCRIPTIONS',
          );
          expect(alice.connection.subscriptions.size).toBe(Math.min(taskIds.length, cap));
          expect(messages.filter((m) => m.type === 'subscribed')).toHaveLength(Math.min(taskIds.length, cap));
          expect(refused).toHaveLength(Math.max(0, taskIds.length - cap));
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });
});
