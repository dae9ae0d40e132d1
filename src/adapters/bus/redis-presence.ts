/**
 * Cluster-wide connection stats in Redis: each node writes its own numbers under a key that
 * expires, and a reader sums the keys that still exist. A node that crashes stops refreshing
 * its key, so its clients drop out of the totals within `ttlMs` with nobody cleaning up.
 * Shared counters (HINCRBY on connect, HDECRBY on leave) would be cheaper to read but a crash
 * would leave its clients counted forever.
 *
 * Keys (one hash tag, so that a Redis Cluster keeps them in one slot for MULTI):
 * - `${keyPrefix}{presence}:node:${nodeId}`: JSON `{"t":total,"u":{user:n},"p":{project:n}}`, `PX ttlMs`;
 * - `${keyPrefix}{presence}:nodes`: sorted set of node ids (score: last report, ms), the index a
 *   reader walks; members whose key expired are removed by the reader.
 */
import { randomBytes } from 'node:crypto';
import type { RedisBusLogger, RedisConnection } from './redis-options.js';
import type { ClusterPresence, PresenceStats } from './types.js';

export interface RedisPresenceOptions {
  /** Any ioredis connection not in subscriber mode (the bus's `publisher` is fine). Never closed by us. */
  redis: RedisConnection;
  /**
   * Prefix of the keys; use the same as the bus.
   * @default 'rp:'
   */
  keyPrefix?: string;
  /**
   * This node's id. Must be unique in the cluster; a restarted process should take a new one.
   * @default 'node-' + 96 random bits
   */
  nodeId?: string;
  /**
   * Lifetime of a node's entry: a crashed node's clients leave the totals within this.
   * @default 15_000
   */
  ttlMs?: number;
  /**
   * Interval of the refresh that keeps a live node's entry from expiring; well under `ttlMs`.
   * @default ttlMs / 3
   */
  refreshMs?: number;
  /**
   * Coalescing delay after `changed()`: a burst of connects costs one write.
   * @default 100
   */
  reportDelayMs?: number;
  /** Failed reports. @default silent */
  logger?: RedisBusLogger;
}

export const DEFAULT_REDIS_PRESENCE_OPTIONS = {
  keyPrefix: 'rp:',
  ttlMs: 15_000,
  reportDelayMs: 100,
} as const;

/** The compact stored form: field names are written once per node per report. */
interface StoredPresence {
  t: number;
  u: Record<string, number>;
  p: Record<string, number>;
}

/**
 * Creates the Redis presence store.
 * @throws {TypeError} when `refreshMs` is not below `ttlMs` (entries would expire between refreshes).
 */
export function createRedisPresence(options: RedisPresenceOptions): ClusterPresence {
  const { redis } = options;
  const keyPrefix = options.keyPrefix ?? DEFAULT_REDIS_PRESENCE_OPTIONS.keyPrefix;
  const nodeId = options.nodeId ?? `node-${randomBytes(12).toString('base64url')}`;
  const ttlMs = options.ttlMs ?? DEFAULT_REDIS_PRESENCE_OPTIONS.ttlMs;
  const refreshMs = options.refreshMs ?? Math.floor(ttlMs / 3);
  const reportDelayMs = options.reportDelayMs ?? DEFAULT_REDIS_PRESENCE_OPTIONS.reportDelayMs;
  const logger = options.logger;
  if (!(refreshMs > 0 && refreshMs < ttlMs)) {
    throw new TypeError(
      `refreshMs (${refreshMs}) must be above 0 and below ttlMs (${ttlMs}), or entries expire between refreshes.`,
    );
  }
  const indexKey = `${keyPrefix}{presence}:nodes`;
  const nodeKey = (id: string): string => `${keyPrefix}{presence}:node:${id}`;

  let readLocal: (() => PresenceStats) | undefined;
  let refreshTimer: NodeJS.Timeout | undefined;
  let delayTimer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  let closed = false;

  const report = async (): Promise<void> => {
    if (readLocal === undefined || closed || redis.status !== 'ready') return;
    const { totalClients, byUser, byProject } = readLocal();
    const stored: StoredPresence = { t: totalClients, u: { ...byUser }, p: { ...byProject } };
    try {
      await redis
        .multi()
        .set(nodeKey(nodeId), JSON.stringify(stored), 'PX', ttlMs)
        .zadd(indexKey, String(Date.now()), nodeId)
        // The index outlives every entry it lists by a little, and then goes too.
        .pexpire(indexKey, ttlMs * 2)
        .exec();
    } catch (error) {
      logger?.warn({ err: error, nodeId }, 'presence report to Redis failed; retrying at the next refresh');
    }
  };

  const reportNow = (): void => {
    // One write at a time; a change during a write is picked up by the next refresh or change.
    writing ??= report().finally(() => {
      writing = undefined;
    });
  };

  const changed = (): void => {
    if (closed || readLocal === undefined || delayTimer !== undefined) return;
    delayTimer = setTimeout(() => {
      delayTimer = undefined;
      reportNow();
    }, reportDelayMs).unref();
  };

  return {
    nodeId,
    start(read) {
      readLocal = read;
      reportNow();
      refreshTimer ??= setInterval(reportNow, refreshMs).unref();
      // Back after an outage: report at once rather than up to `refreshMs` later.
      redis.on('ready', changed);
    },
    changed,
    async read() {
      const ids = await redis.zrange(indexKey, '0', '-1');
      const values = ids.length === 0 ? [] : await redis.mget(ids.map(nodeKey));
      const byUser: Record<string, number> = {};
      const byProject: Record<string, number> = {};
      let totalClients = 0;
      let nodes = 0;
      const expired: string[] = [];
      values.forEach((value, i) => {
        const stored = value === null ? undefined : parseStored(value);
        if (stored === undefined) {
          expired.push(ids[i] ?? '');
          return;
        }
        nodes += 1;
        totalClients += stored.t;
        addInto(byUser, stored.u);
        addInto(byProject, stored.p);
      });
      if (expired.length > 0) await redis.zrem(indexKey, ...expired).catch(() => {});
      return { totalClients, byUser, byProject, nodes };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(refreshTimer);
      clearTimeout(delayTimer);
      redis.off('ready', changed);
      await writing;
      if (redis.status !== 'ready') return; // the entry expires by itself
      await redis
        .multi()
        .del(nodeKey(nodeId))
        .zrem(indexKey, nodeId)
        .exec()
        .catch((error: unknown) =>
          logger?.warn({ err: error, nodeId }, 'presence entry could not be deleted; it expires'),
        );
    },
  };
}

function parseStored(value: string): StoredPresence | undefined {
  try {
    const parsed = JSON.parse(value) as StoredPresence;
    return typeof parsed?.t === 'number' && typeof parsed.u === 'object' && typeof parsed.p === 'object'
      ? parsed
      : undefined;
  } catch {
    return undefined;
  }
}

function addInto(total: Record<string, number>, part: Record<string, number>): void {
  for (const [key, count] of Object.entries(part)) total[key] = (total[key] ?? 0) + count;
}
