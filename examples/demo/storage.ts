/**
 * The demo's storage: SQLite in `./.data/demo.sqlite` (created on first run), or PostgreSQL
 * when `DATABASE_URL=postgres://...` is set. The demo owns the Kysely instance and closes it.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { createSqlStorage } from '../../src/adapters/storage/sql/index.js';
import type { StorageAdapter } from '../../src/server/index.js';

export interface DemoStorage {
  readonly storage: StorageAdapter;
  /** Where the data lives, for the start-up banner. */
  readonly description: string;
  close(): Promise<void>;
}

export function openDemoStorage(options: {
  sqliteFile: string;
  databaseUrl?: string | undefined;
}): DemoStorage {
  if (options.databaseUrl?.startsWith('postgres')) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 5 });
    // node-postgres emits 'error' on idle and checked-out clients whose connection dies; without
    // listeners that crashes the process instead of failing the query.
    pool.on('error', (error) => console.error('PostgreSQL pool error:', error.message));
    pool.on('connect', (client) =>
      client.on('error', (error) => console.error('PostgreSQL client error:', error.message)),
    );
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    return {
      storage: createSqlStorage({ db, tablePrefix: 'demo_' }),
      description: 'PostgreSQL (DATABASE_URL)',
      close: () => db.destroy(),
    };
  }
  mkdirSync(dirname(options.sqliteFile), { recursive: true });
  const sqlite = new Database(options.sqliteFile);
  // WAL lets a second process (a worker) write while the demo reads.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: sqlite }) });
  return {
    // sqliteDatabase: appends run statements prepared once (about a third less CPU per event).
    storage: createSqlStorage({ db, tablePrefix: 'demo_', sqliteDatabase: sqlite }),
    description: `SQLite (${options.sqliteFile})`,
    close: () => db.destroy(),
  };
}
