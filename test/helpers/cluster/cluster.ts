/**
 * A whole cluster for the multi-process tests: N server nodes (child processes) on their own
 * ports behind a round-robin TCP load balancer, a worker process that publishes, PostgreSQL
 * tables and a Redis key prefix of their own; and clients that record what the app sees.
 */
import { migrateSqlStorage } from '../../../src/adapters/storage/sql/index.js';
import { ProgressClient } from '../../../src/client/index.js';
import { dropTables, pgDb, uniquePrefix } from '../sql-databases.js';
import { type Child, killAllChildren, spawnChild } from './processes.js';
import { type LoadBalancer, startLoadBalancer } from './proxy.js';
import { uniqueKeyPrefix } from './redis.js';

export interface ClusterNode {
  readonly name: string;
  readonly port: number;
  readonly child: Child;
}

export interface Cluster {
  readonly nodes: ClusterNode[];
  readonly lb: LoadBalancer;
  readonly publisher: Child;
  readonly keyPrefix: string;
  /** Prefix of every Redis connection name of this cluster (for `CLIENT KILL`). */
  readonly connectionTag: string;
  /** The WebSocket URL behind the load balancer. */
  readonly url: string;
  /** `http://127.0.0.1:<port>` of one node, for its REST API. */
  httpUrl(node: ClusterNode): string;
  /** SIGKILLs one node and takes it out of the load balancer, as a health check would. */
  killNode(node: ClusterNode): Promise<void>;
  /** Kills every process, closes the load balancer, drops the tables. */
  close(): Promise<void>;
}

export interface ClusterOptions {
  readonly nodes: number;
  /** Redis port of every process (a private redis-server for restart tests). @default 6379 */
  readonly redisPort?: number;
  /** Extra environment for the server nodes. */
  readonly nodeEnv?: Record<string, string>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const tablePrefix = uniquePrefix('cluster');
  const keyPrefix = uniqueKeyPrefix('cluster');
  const connectionTag = keyPrefix.replaceAll(':', '-');
  const { db } = pgDb({ max: 1 });
  await migrateSqlStorage({ db, tablePrefix });
  const common: Record<string, string> = {
    RP_TABLE_PREFIX: tablePrefix,
    RP_KEY_PREFIX: keyPrefix,
    ...(options.redisPort === undefined ? {} : { RP_REDIS_PORT: String(options.redisPort) }),
  };
  const nodes = await Promise.all(
    Array.from({ length: options.nodes }, async (_, i) => {
      const name = `${connectionTag}n${i}`;
      const child = spawnChild('node.ts', { ...common, ...options.nodeEnv, RP_NAME: name, RP_PORT: '0' });
      const ready = await child.waitFor((m) => m.type === 'ready');
      return { name, port: Number(ready.port), child };
    }),
  );
  const publisher = spawnChild('publisher.ts', { ...common, RP_NAME: `${connectionTag}w` });
  await publisher.waitFor((m) => m.type === 'ready');
  const lb = await startLoadBalancer(nodes.map((node) => node.port));
  return {
    nodes,
    lb,
    publisher,
    keyPrefix,
    connectionTag,
    url: `ws://127.0.0.1:${lb.port}/api/v1/ws`,
    httpUrl: (node) => `http://127.0.0.1:${node.port}`,
    async killNode(node) {
      lb.remove(node.port);
      await node.child.kill('SIGKILL');
    },
    async close() {
      await killAllChildren();
      await lb.close();
      await dropTables(db, tablePrefix).catch(() => {});
      await db.destroy();
    },
  };
}

/** What one client's app saw of one task. */
export interface TaskLog {
  /** `seq` of every event delivered to the app (progress, status, error), in order. */
  readonly seqs: number[];
  status: string | undefined;
}

export interface RecordingClient {
  readonly client: ProgressClient;
  readonly tasks: Map<string, TaskLog>;
  reconnects: number;
  resumed: number;
  recoveries: number;
  /** Close codes of every lost connection, in order. */
  readonly closeCodes: number[];
  /** Resolves once every task reached `status` (or rejects after `timeoutMs`). */
  finished(status: string, timeoutMs?: number): Promise<void>;
}

/** A `ProgressClient` that follows `taskIds` and records every event the app gets. */
export async function recordingClient(
  url: string,
  userId: string,
  taskIds: readonly string[],
): Promise<RecordingClient> {
  const client = new ProgressClient({
    url,
    userId,
    // Fast retries: a test should not wait seconds for a reconnect.
    backoff: { initialDelayMs: 50, maxDelayMs: 400, factor: 2, jitter: 0.5 },
    heartbeatIntervalMs: 0,
    connectTimeoutMs: 5_000,
  });
  const tasks = new Map<string, TaskLog>(taskIds.map((id) => [id, { seqs: [], status: undefined }]));
  const waiters = new Set<() => void>();
  const record: RecordingClient = {
    client,
    tasks,
    reconnects: 0,
    resumed: 0,
    recoveries: 0,
    closeCodes: [],
    finished: (status, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (![...tasks.values()].every((log) => log.status === status)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const summary = [...tasks].map(
            ([id, log]) => `${id}: ${log.seqs.length} events, last ${log.seqs.at(-1)}, ${log.status}`,
          );
          reject(
            new Error(
              `${userId} did not see every task ${status} within ${timeoutMs} ms (${summary.join('; ')})`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
  const push = (taskId: string, seq: number, status?: string): void => {
    const log = tasks.get(taskId);
    if (log === undefined) return;
    log.seqs.push(seq);
    if (status !== undefined) log.status = status;
    for (const wake of waiters) wake();
  };
  client.on('progress', (event) => {
    if (!event.snapshot) push(event.taskId, event.seq);
  });
  client.on('status', (event) => push(event.taskId, event.seq, event.payload.status));
  client.on('error', (event) => {
    if (event.source === 'task') push(event.taskId, event.seq);
  });
  client.on('recovery', () => {
    record.recoveries += 1;
  });
  client.on('reconnected', (event) => {
    record.reconnects += 1;
    if (event.resumed) record.resumed += 1;
  });
  client.on('disconnected', (event) => {
    if (event.code !== undefined) record.closeCodes.push(event.code);
  });
  const subscribed = new Promise<void>((resolve) => {
    const pending = new Set(taskIds);
    client.on('subscribed', ({ taskId }) => {
      pending.delete(taskId);
      if (pending.size === 0) resolve();
    });
  });
  for (const taskId of taskIds) client.subscribe(taskId);
  await subscribed;
  return record;
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
