/**
 * `createRedisPresence` against a real Redis: per-node entries that expire, summed by any
 * reader; a node that stops refreshing (a crash) drops out within `ttlMs`.
 */
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ClusterPresence,
  createRedisPresence,
  type PresenceStats,
} from '../../src/adapters/bus/redis-index.js';
import { connect, disconnectAll, ready, uniqueKeyPrefix } from '../helpers/cluster/redis.js';
import { redisAvailable, requireService } from '../helpers/services.js';
import { waitUntil } from '../helpers/wait.js';

const runRedis = requireService('Redis', await redisAvailable());

const stores: ClusterPresence[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  disconnectAll();
});

async function presence(
  keyPrefix: string,
  stats: () => PresenceStats,
  ttlMs = 600,
): Promise<{ store: ClusterPresence; redis: Redis }> {
  const redis = connect();
  await ready(redis);
  const store = createRedisPresence({ redis, keyPrefix, ttlMs, reportDelayMs: 10 });
  stores.push(store);
  store.start(stats);
  return { store, redis };
}

const stats = (byUser: Record<string, number>, byProject: Record<string, number> = {}): PresenceStats => ({
  totalClients: Object.values(byUser).reduce((a, b) => a + b, 0),
  byUser,
  byProject,
});

describe.runIf(runRedis)('createRedisPresence', () => {
  it('sums every live node’s numbers', async () => {
    const prefix = uniqueKeyPrefix('presence');
    const { store: a } = await presence(prefix, () => stats({ alice: 2, bob: 1 }, { p1: 3 }));
    await presence(prefix, () => stats({ alice: 1, carol: 4 }, { p1: 1, p2: 4 }));
    await waitUntil(async () => (await a.read()).nodes === 2, 2_000, 'both nodes reported');
    expect(await a.read()).toEqual({
      totalClients: 8,
      byUser: { alice: 3, bob: 1, carol: 4 },
      byProject: { p1: 4, p2: 4 },
      nodes: 2,
    });
  });

  it('reports a change within reportDelayMs rather than at the next refresh', async () => {
    const prefix = uniqueKeyPrefix('presence');
    let current = stats({ alice: 1 });
    const { store } = await presence(prefix, () => current, 30_000);
    await waitUntil(async () => (await store.read()).totalClients === 1, 2_000, 'first report');
    current = stats({ alice: 1, bob: 1 });
    store.changed();
    await waitUntil(async () => (await store.read()).totalClients === 2, 1_000, 'report after a change');
  });

  it('drops a node that stops refreshing (crashed) within ttlMs, and keeps the live ones', async () => {
    const prefix = uniqueKeyPrefix('presence');
    const { store: live } = await presence(prefix, () => stats({ alice: 1 }));
    const { redis: crashedRedis } = await presence(prefix, () => stats({ bob: 5 }));
    await waitUntil(async () => (await live.read()).nodes === 2, 2_000, 'both nodes reported');
    // A crash: the process (here its connection) is gone without deleting its entry.
    crashedRedis.disconnect();
    const crashedAt = Date.now();
    await waitUntil(async () => (await live.read()).nodes === 1, 2_000, 'the crashed node to expire');
    expect(Date.now() - crashedAt).toBeLessThanOrEqual(600 + 200);
    expect(await live.read()).toEqual({ totalClients: 1, byUser: { alice: 1 }, byProject: {}, nodes: 1 });
  });

  it('deletes its entry on close, so a graceful shutdown drops out at once', async () => {
    const prefix = uniqueKeyPrefix('presence');
    const { store: reader } = await presence(prefix, () => stats({}), 60_000);
    const { store: leaving } = await presence(prefix, () => stats({ dave: 2 }), 60_000);
    await waitUntil(async () => (await reader.read()).totalClients === 2, 2_000, 'report');
    await leaving.close();
    expect(await reader.read()).toMatchObject({ totalClients: 0, nodes: 1 });
  });

  it('refuses a refresh interval that would let entries expire', () => {
    const redis = connect();
    expect(() => createRedisPresence({ redis, ttlMs: 1_000, refreshMs: 1_000 })).toThrow(/below ttlMs/);
  });
});
