/**
 * The Redis bus under the hub, in one process: two progress servers and a worker publisher,
 * each with its own Redis connections, sharing one storage. Connections are cut with
 * `CLIENT KILL ID` mid-stream; the client on the other server must still end with every
 * event exactly once, in order, and the terminal status.
 */
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisBus } from '../../src/adapters/bus/redis-index.js';
import {
  createMemoryStorage,
  createProgressPublisher,
  type ProgressPublisher,
  type StorageAdapter,
} from '../../src/server/index.js';
import { connect, disconnectAll, killByName, ready, uniqueKeyPrefix } from '../helpers/cluster/redis.js';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { connectRaw, type RawClient, seqsOf } from '../helpers/raw-client.js';
import { redisAvailable, requireService } from '../helpers/services.js';

const runRedis = requireService('Redis', await redisAvailable());

const servers: TestServer[] = [];
const clients: RawClient[] = [];
const publishers: ProgressPublisher[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(publishers.splice(0).map((publisher) => publisher.close()));
  disconnectAll();
});

/** Two named connections and a Redis bus on them; the subscriber waits 200 ms to reconnect. */
async function redisBus(prefix: string, name: string) {
  const publisher = connect({ connectionName: `${name}-pub` });
  const subscriber = connect({ connectionName: `${name}-sub`, retryStrategy: () => 200 });
  await Promise.all([ready(publisher), ready(subscriber)]);
  return { bus: createRedisBus({ publisher, subscriber, keyPrefix: prefix }), publisher, subscriber };
}

async function serverNode(prefix: string, name: string, storage: StorageAdapter) {
  const { bus, subscriber } = await redisBus(prefix, name);
  const server = await startServer({ bus, heartbeat: { intervalMs: 0 } }, storage);
  servers.push(server);
  return { server, subscriber };
}

const closeOf = (redis: Redis): Promise<unknown> => new Promise((resolve) => redis.once('close', resolve));

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe.runIf(runRedis)('Redis bus under the hub', () => {
  it('no client ends with a gap when connections are killed mid-stream', async () => {
    const prefix = uniqueKeyPrefix('hub');
    const tag = prefix.replaceAll(':', '-');
    const storage = createMemoryStorage({ retention: { maxEventsPerTask: 10_000 } });
    const admin: Redis = connect();
    const [a, b] = await Promise.all([
      serverNode(prefix, `${tag}a`, storage),
      serverNode(prefix, `${tag}b`, storage),
    ]);
    const worker = await redisBus(prefix, `${tag}w`);
    const publisher = createProgressPublisher({ storage, bus: worker.bus });
    publishers.push(publisher);

    const tasks = ['job-1', 'job-2'];
    const onA = await connectRaw(a.server.wsUrl('user_id=u&batch=1'));
    const onB = await connectRaw(b.server.wsUrl('user_id=u&batch=1'));
    clients.push(onA, onB);
    for (const client of [onA, onB]) {
      for (const task of tasks) client.send({ action: 'subscribe', task_id: task });
      await client.waitForCount((m) => m.type === 'subscribed', tasks.length);
    }

    const events = 240;
    let failedPublishes = 0;
    const publish = async (run: () => Promise<unknown>): Promise<void> => {
      // A publish whose bus step failed is stored all the same: it says so and we go on.
      await run().catch((error: Error) => {
        expect(error.message).toMatch(/stored but the bus failed/);
        failedPublishes += 1;
      });
    };
    for (let i = 1; i <= events; i++) {
      if (i === 80) await killByName(admin, `${tag}b-sub`); // node B misses what follows until it resyncs
      if (i === 160) await killByName(admin, `${tag}w-pub`); // the worker's publishes fail for a while
      for (const task of tasks)
        await publish(() => publisher.publish(task, { progress: Math.floor((i * 99) / events) }));
    }
    // The last events go out while a connection is down, so no later event can reveal them.
    // job-1: the worker's publisher is down; only its re-publish after reconnecting tells
    // the nodes that the status exists.
    // Killed only once connected (and named) again after the kills above.
    await ready(worker.publisher);
    let closed = closeOf(worker.publisher);
    await killByName(admin, `${tag}w-pub`);
    await closed;
    await publish(() => publisher.setStatus('job-1', 'completed', { result: { ok: true } }));
    // job-2: node B's subscriber is down (for 200 ms); only B's resync once it is back finds it.
    await ready(b.subscriber);
    closed = closeOf(b.subscriber);
    await killByName(admin, `${tag}b-sub`);
    await closed;
    await publish(() => publisher.setStatus('job-2', 'completed', { result: { ok: true } }));
    expect(failedPublishes).toBeGreaterThan(0);

    for (const client of [onA, onB]) {
      await client.waitForCount(
        (m) => m.type === 'status' && m.payload.status === 'completed',
        tasks.length,
        8_000,
      );
      for (const task of tasks) expect(seqsOf(client, task)).toEqual(range(events + 1));
    }
  }, 30_000);
});
