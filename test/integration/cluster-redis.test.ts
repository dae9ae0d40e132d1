/**
 * Redis failures under a running cluster (three server processes and a worker): connections
 * killed with `CLIENT KILL ID`, and a full Redis restart, both mid-stream and while the tasks'
 * last events are published. No client may end with a gap: the last events in particular
 * are followed by nothing that could reveal them, so only the bus's resync after it
 * re-subscribes (and the worker's re-publish) can deliver them.
 */
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Cluster,
  type RecordingClient,
  range,
  recordingClient,
  startCluster,
} from '../helpers/cluster/cluster.js';
import {
  connect,
  disconnectAll,
  killByNamePrefix,
  type PrivateRedis,
  privateRedis,
  ready,
  redisServerInstalled,
} from '../helpers/cluster/redis.js';
import { pgAvailable, redisAvailable, requireService } from '../helpers/services.js';

const run =
  requireService('Redis', await redisAvailable()) && requireService('PostgreSQL', await pgAvailable());
const runRestart = run && requireService('redis-server binary', redisServerInstalled());

let cluster: Cluster | undefined;
let redis: PrivateRedis | undefined;
const clients: RecordingClient[] = [];

afterEach(async () => {
  for (const { client } of clients.splice(0)) client.close();
  await cluster?.close();
  cluster = undefined;
  await redis?.kill();
  redis = undefined;
  disconnectAll();
});

const TASKS = ['import-1', 'import-2', 'import-3'];
const EVENTS = 90;

async function clientsOn(url: string, count: number): Promise<RecordingClient[]> {
  const made: RecordingClient[] = [];
  for (let i = 0; i < count; i++) {
    const client = await recordingClient(url, `user-${i}`, TASKS);
    clients.push(client);
    made.push(client);
  }
  return made;
}

async function expectNoGaps(made: RecordingClient[]): Promise<void> {
  await Promise.all(made.map((client) => client.finished('completed')));
  for (const client of made) {
    // A partial recovery (a snapshot instead of the missing events) would show as a gap here.
    const seen = [...client.tasks].map(([taskId, log]) => ({ taskId, seqs: log.seqs }));
    expect({ recoveries: client.recoveries, seen }).toEqual({
      recoveries: 0,
      seen: [...client.tasks.keys()].map((taskId) => ({ taskId, seqs: range(EVENTS + 1) })),
    });
  }
}

describe.runIf(run)('a cluster when Redis fails', () => {
  it('leaves no client with a gap when its Redis connections are killed (CLIENT KILL) mid-stream', async () => {
    cluster = await startCluster({ nodes: 3 });
    const admin: Redis = connect();
    await ready(admin);
    const made = await clientsOn(cluster.url, 6);

    cluster.publisher.send({ type: 'run', tasks: TASKS, events: EVENTS, pauseMs: 2, holdBeforeStatus: true });
    for (const round of [20, 50]) {
      await cluster.publisher.waitFor((m) => m.type === 'published' && m.round === round);
      // Every connection of the cluster: the nodes' subscribers and publishers and the worker's.
      expect(await killByNamePrefix(admin, cluster.connectionTag)).toBe(7);
    }
    await cluster.publisher.waitFor((m) => m.type === 'holding');
    await killByNamePrefix(admin, cluster.connectionTag);
    cluster.publisher.send({ type: 'continue' });
    const done = await cluster.publisher.waitFor((m) => m.type === 'done' || m.type === 'failed');
    expect(done.type).toBe('done');
    await expectNoGaps(made);
  }, 60_000);

  it.runIf(runRestart)(
    'leaves no client with a gap when Redis restarts mid-stream and during the last events',
    async () => {
      redis = await privateRedis();
      cluster = await startCluster({ nodes: 3, redisPort: redis.port });
      const made = await clientsOn(cluster.url, 6);

      cluster.publisher.send({
        type: 'run',
        tasks: TASKS,
        events: EVENTS,
        pauseMs: 2,
        holdBeforeStatus: true,
      });
      await cluster.publisher.waitFor((m) => m.type === 'published' && m.round === 20);
      await redis.kill();
      // Redis stays down while the worker publishes ten more rounds (stored, not delivered live).
      await cluster.publisher.waitFor((m) => m.type === 'published' && m.round === 30);
      await redis.start();

      // The tasks' last events are published entirely while Redis is down.
      await cluster.publisher.waitFor((m) => m.type === 'holding');
      await redis.kill();
      cluster.publisher.send({ type: 'continue' });
      const done = await cluster.publisher.waitFor((m) => m.type === 'done' || m.type === 'failed');
      expect(done).toEqual({ type: 'done', busFailures: expect.any(Number) });
      expect(Number(done.busFailures)).toBeGreaterThanOrEqual(TASKS.length);
      await redis.start();
      await expectNoGaps(made);
    },
    60_000,
  );
});
