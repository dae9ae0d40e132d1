/**
 * What the example's two processes share: the SQL storage (PostgreSQL from `DATABASE_URL`, or
 * a SQLite file both processes open) and Redis (`REDIS_URL`) for the bus and the queue.
 */
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
// In your app: from 'realtime-progress/redis' and 'realtime-progress/sql'.
import { createRedisBus } from '../../src/adapters/bus/redis-index.js';
import type { Bus } from '../../src/adapters/bus/types.js';
import { createSqlStorage, type SqlStorage } from '../../src/adapters/storage/sql/index.js';

export const QUEUE = 'renders';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Infrastructure {
  readonly storage: SqlStorage;
  readonly bus: Bus;
  close(): Promise<void>;
}

/** `subscribe: false` for the worker: it only publishes, so it needs no subscriber connection. */
export function infrastructure(options: { subscribe: boolean }): Infrastructure {
  // biome-ignore lint/suspicious/noExplicitAny: the example has no typed schema of its own.
  const db: Kysely<any> = process.env.DATABASE_URL
    ? new Kysely({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) }),
      })
    : new Kysely({
        dialect: new SqliteDialect({ database: sqliteFile(process.env.PROGRESS_DB ?? 'progress.db') }),
      });
  const publisher = new Redis(REDIS_URL);
  const subscriber = options.subscribe ? publisher.duplicate() : undefined;
  const bus = createRedisBus(subscriber === undefined ? { publisher } : { publisher, subscriber });
  return {
    storage: createSqlStorage({ db }),
    bus,
    async close() {
      await bus.close();
      publisher.disconnect();
      subscriber?.disconnect();
      await db.destroy();
    },
  };
}

function sqliteFile(path: string): Database.Database {
  const database = new Database(path);
  // Two processes share the file: WAL lets the server read while the worker writes.
  database.pragma('journal_mode = WAL');
  database.pragma('busy_timeout = 5000');
  return database;
}
