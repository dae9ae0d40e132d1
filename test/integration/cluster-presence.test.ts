/**
 * Cluster-wide stats and rolling deploys, across server processes: the `presence` option (fed
 * by `createRedisPresence`) behind `GET /websocket/stats` and `GET /progress/active`, and
 * `server.close({ drainMs })`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Cluster,
  type RecordingClient,
  range,
  recordingClient,
  startCluster,
} from '../helpers/cluster/cluster.js';
import { connectRaw, type RawClient } from '../helpers/raw-client.js';
import { pgAvailable, redisAvailable, requireService } from '../helpers/services.js';
import { waitUntil } from '../helpers/wait.js';

const run =
  requireService('Redis', await redisAvailable()) && requireService('PostgreSQL', await pgAvailable());

const PRESENCE_TTL_MS = 1_500;

let cluster: Cluster | undefined;
const raw: RawClient[] = [];
const recording: RecordingClient[] = [];

afterEach(async () => {
  await Promise.all(raw.splice(0).map((client) => client.close()));
  for (const { client } of recording.splice(0)) client.close();
  await cluster?.close();
  cluster = undefined;
});

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

describe.runIf(run)('cluster-wide stats', () => {
  it('counts every node’s clients, and drops a killed node’s clients within the expiry', async () => {
    cluster = await startCluster({ nodes: 3, nodeEnv: { RP_PRESENCE_TTL_MS: String(PRESENCE_TTL_MS) } });
    const [victim, a, b] = cluster.nodes as [
      (typeof cluster.nodes)[0],
      (typeof cluster.nodes)[0],
      (typeof cluster.nodes)[0],
    ];
    // Straight to each node (not through the load balancer), and never reconnecting: the
    // victim's clients simply vanish with it.
    for (const [i, node] of [victim, victim, a, b, b, b].entries()) {
      const client = await connectRaw(
        `ws://127.0.0.1:${node.port}/api/v1/ws?user_id=user-${i % 2}&project_id=p${i}`,
      );
      raw.push(client);
      await client.waitFor((m) => m.type === 'connected');
    }
    const statsUrl = `${cluster.httpUrl(a)}/api/v1/websocket/stats`;
    await waitUntil(
      async () => (await getJson(statsUrl)).total_clients === 6,
      5_000,
      'cluster-wide total of 6',
    );
    expect(await getJson(statsUrl)).toEqual({
      total_clients: 6,
      by_user: { 'user-0': 3, 'user-1': 3 },
      by_project: { p0: 1, p1: 1, p2: 1, p3: 1, p4: 1, p5: 1 },
    });
    expect(await getJson(`${cluster.httpUrl(b)}/api/v1/progress/active`)).toMatchObject({
      connected_clients: 6,
    });

    const killedAt = Date.now();
    await cluster.killNode(victim);
    await waitUntil(
      async () => (await getJson(statsUrl)).total_clients === 4,
      PRESENCE_TTL_MS + 2_000,
      'the dead node to drop out',
    );
    expect(Date.now() - killedAt).toBeLessThanOrEqual(PRESENCE_TTL_MS + 500);
    expect(await getJson(statsUrl)).toMatchObject({
      total_clients: 4,
      by_user: { 'user-0': 2, 'user-1': 2 },
    });

    // A graceful close deletes the node's entry at once.
    b.child.send({ type: 'close' });
    await b.child.waitFor((m) => m.type === 'closed');
    expect(await getJson(statsUrl)).toMatchObject({ total_clients: 1 });
  }, 60_000);
});

describe.runIf(run)('rolling deploy', () => {
  it('close({ drainMs }) sends 1012 spread over drainMs; clients resume on another node with every event once', async () => {
    cluster = await startCluster({ nodes: 2 });
    const [old, fresh] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    // Every client starts on the old node; the new one takes the reconnects.
    cluster.lb.remove(fresh.port);
    const tasks = ['deploy-1', 'deploy-2'];
    const clients: RecordingClient[] = [];
    const lostAt = new Map<RecordingClient, number>();
    for (let i = 0; i < 12; i++) {
      const client = await recordingClient(cluster.url, `user-${i}`, tasks);
      client.client.on('disconnected', () => {
        if (!lostAt.has(client)) lostAt.set(client, Date.now());
      });
      recording.push(client);
      clients.push(client);
    }
    cluster.lb.add(fresh.port);
    cluster.lb.remove(old.port);

    const events = 80;
    cluster.publisher.send({ type: 'run', tasks, events, pauseMs: 25 });
    await cluster.publisher.waitFor((m) => m.type === 'published' && m.round === 10);
    const drainMs = 2_000;
    const drainStart = Date.now();
    old.child.send({ type: 'close', drainMs });
    await old.child.waitFor((m) => m.type === 'closed', drainMs + 10_000);
    const drainEnd = Date.now();

    for (const client of clients) expect(client.closeCodes[0]).toBe(1012);
    const times = [...lostAt.values()];
    expect(times).toHaveLength(12);
    // Spread, not a stampede: with 12 uniform draws the range is under 40% of drainMs with
    // probability ~1e-4.
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(drainMs * 0.4);
    expect(Math.max(...times) - drainStart).toBeLessThanOrEqual(drainMs + 500);
    expect(drainEnd - drainStart).toBeLessThan(drainMs + 3_000);

    const done = await cluster.publisher.waitFor((m) => m.type === 'done' || m.type === 'failed', 30_000);
    expect(done.type).toBe('done');
    await Promise.all(clients.map((client) => client.finished('completed')));
    for (const client of clients) {
      const seen = [...client.tasks].map(([taskId, log]) => ({ taskId, seqs: log.seqs }));
      // The drained node saved each session to the shared storage before closing its socket:
      // the new node resumed it (same client id) and replayed from its position.
      expect({ resumed: client.resumed, recoveries: client.recoveries, seen }).toEqual({
        resumed: 1,
        recoveries: 0,
        seen: tasks.map((taskId) => ({ taskId, seqs: range(events + 1) })),
      });
    }
  }, 60_000);
});
