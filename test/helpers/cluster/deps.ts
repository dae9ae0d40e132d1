/**
 * What a cluster child process (server node or worker) builds from its environment: SQL
 * storage on PostgreSQL and a Redis bus, each under the prefixes the test chose.
 *
 * Environment: `RP_TABLE_PREFIX` (required), `RP_KEY_PREFIX` (required), `RP_NAME` (connection
 * names, so the test can `CLIENT KILL` them), `RP_REDIS_PORT` (default 6379).
 */

import { Redis } from 'ioredis';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { createRedisBus } from '../../../src/adapters/bus/redis-index.js';
import type { Bus } from '../../../src/adapters/bus/types.js';
import { createSqlStorage, type SqlStorage } from '../../../src/adapters/storage/sql/index.js';
import { SERVICES } from '../services.js';

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} must be set`);
  return value;
}

export interface ChildDeps {
  readonly storage: SqlStorage;
  readonly bus: Bus;
  readonly publisher: Redis;
  /** Closes the bus, then the connections and the pool. */
  close(): Promise<void>;
}

export function childDeps(options: { subscribe: boolean }): ChildDeps {
  const name = process.env.RP_NAME ?? `rp-child-${process.pid}`;
  const pool = new pg.Pool({
    ...SERVICES.postgres,
    user: process.env.RP_TEST_PG_USER ?? 'postgres',
    database: process.env.RP_TEST_PG_DATABASE ?? 'test',
    max: 3,
  });
  pool.on('error', () => {}); // a backend killed under an idle client must not crash the node
  const db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  // The test migrated the tables before starting any child.
  const storage = createSqlStorage({ db, tablePrefix: requireEnv('RP_TABLE_PREFIX'), migrate: false });
  const redisOptions = {
    host: SERVICES.redis.host,
    port: Number(process.env.RP_REDIS_PORT ?? SERVICES.redis.port),
    // Reconnect quickly: the tests cut connections and restart Redis on purpose.
    retryStrategy: () => 50,
  };
  const publisher = new Redis({ ...redisOptions, connectionName: `${name}-pub` });
  const subscriber = options.subscribe
    ? new Redis({ ...redisOptions, connectionName: `${name}-sub` })
    : undefined;
  for (const connection of [publisher, subscriber]) connection?.on('error', () => {});
  const bus = createRedisBus({
    publisher,
    ...(subscriber === undefined ? {} : { subscriber }),
    keyPrefix: requireEnv('RP_KEY_PREFIX'),
  });
  return {
    storage,
    bus,
    publisher,
    async close() {
      await bus.close();
      publisher.disconnect();
      subscriber?.disconnect();
      await db.destroy();
    },
  };
}

/** Sends a message to the parent test over IPC (no-op when run by hand). */
export function tell(message: Record<string, unknown>): void {
  process.send?.(message);
}
