/**
 * Several server processes act as one (DESIGN.md guarantee 7): three nodes on their own ports
 * behind a round-robin load balancer without sticky sessions, SQL storage on PostgreSQL, the
 * Redis bus, and a worker process publishing through `createProgressPublisher`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Cluster,
  type RecordingClient,
  range,
  recordingClient,
  startCluster,
} from '../helpers/cluster/cluster.js';
import { pgAvailable, redisAvailable, requireService } from '../helpers/services.js';

const run =
  requireService('Redis', await redisAvailable()) && requireService('PostgreSQL', await pgAvailable());

let cluster: Cluster | undefined;
const clients: RecordingClient[] = [];

afterEach(async () => {
  for (const { client } of clients.splice(0)) client.close();
  await cluster?.close();
  cluster = undefined;
});

const TASKS = ['render-1', 'render-2', 'render-3', 'render-4'];

/** `count` clients through the load balancer; client i follows two of the four tasks. */
async function spreadClients(url: string, count: number): Promise<RecordingClient[]> {
  const made: RecordingClient[] = [];
  for (let i = 0; i < count; i++) {
    const tasks = [TASKS[i % TASKS.length]!, TASKS[(i + 1) % TASKS.length]!];
    const client = await recordingClient(url, `user-${i}`, tasks);
    clients.push(client);
    made.push(client);
  }
  return made;
}

function expectEveryEventOnce(client: RecordingClient, events: number): void {
  // A partial recovery (a snapshot instead of the missing events) would show as a gap here.
  const seen = [...client.tasks].map(([taskId, log]) => ({ taskId, seqs: log.seqs, status: log.status }));
  expect({ recoveries: client.recoveries, seen }).toEqual({
    recoveries: 0,
    seen: [...client.tasks.keys()].map((taskId) => ({
      taskId,
      seqs: range(events + 1),
      status: 'completed',
    })),
  });
}

describe.runIf(run)('a cluster of server processes', () => {
  it('delivers every event of their tasks, in order, to clients spread over three nodes', async () => {
    cluster = await startCluster({ nodes: 3 });
    const made = await spreadClients(cluster.url, 9);
    // Round-robin: three clients on each node.
    const ports = new Set(cluster.lb.routed);
    expect(ports.size).toBe(3);

    const events = 60;
    cluster.publisher.send({ type: 'run', tasks: TASKS, events, pauseMs: 0 });
    const done = await cluster.publisher.waitFor((m) => m.type === 'done' || m.type === 'failed');
    expect(done).toEqual({ type: 'done', busFailures: 0 });
    await Promise.all(made.map((client) => client.finished('completed')));
    for (const client of made) expectEveryEventOnce(client, events);
    expect(made.every((client) => client.reconnects === 0)).toBe(true);
  }, 60_000);

  it('moves the clients of a node killed mid-stream to the others, where they end with every event once', async () => {
    cluster = await startCluster({ nodes: 3 });
    const made = await spreadClients(cluster.url, 9);
    const victim = cluster.nodes[0]!;

    const events = 120;
    cluster.publisher.send({ type: 'run', tasks: TASKS, events, pauseMs: 3 });
    await cluster.publisher.waitFor((m) => m.type === 'published' && m.round === 40);
    await cluster.killNode(victim);
    const done = await cluster.publisher.waitFor((m) => m.type === 'done' || m.type === 'failed');
    expect(done.type).toBe('done');

    await Promise.all(made.map((client) => client.finished('completed')));
    for (const client of made) expectEveryEventOnce(client, events);
    // The victim's three clients reconnected, through the load balancer, to a live node.
    expect(made.filter((client) => client.reconnects > 0)).toHaveLength(3);
    expect(cluster.lb.routed.slice(9).every((port) => port !== victim.port)).toBe(true);
  }, 60_000);
});
