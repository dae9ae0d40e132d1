/**
 * Kysely instances for the SQL storage tests (SQLite file or memory, PostgreSQL, MariaDB/MySQL),
 * unique table prefixes so test files can run in parallel, and table cleanup.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { createPool } from 'mysql2';
import pg from 'pg';
import {
  createSqlStorage,
  migrateSqlStorage,
  type SqlStorageOptions,
  sqlTableNames,
} from '../../src/adapters/storage/sql/index.js';
import type { StorageAdapter } from '../../src/adapters/storage/types.js';
import type { CreateAdapter } from '../../src/testing/index.js';
import { SERVICES } from './services.js';

// biome-ignore lint/suspicious/noExplicitAny: tests do not type the host schema either.
export type AnyKysely = Kysely<any>;

/** A table prefix no other test file or run uses (at most 30 characters). */
export function uniquePrefix(tag: string): string {
  return `rp_${tag.slice(0, 8)}_${process.pid.toString(36)}${Math.random().toString(36).slice(2, 8)}_`;
}

/** A temporary directory for SQLite files; `remove()` deletes it. */
export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'rp-sql-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** SQLite through better-sqlite3; files use WAL, as we recommend. */
export function sqliteDb(file = ':memory:'): AnyKysely {
  return sqliteConnection(file).db;
}

/** SQLite as a host that passes `sqliteDatabase` sets it up: a Kysely instance and the database behind it. */
export function sqliteConnection(file = ':memory:'): { db: AnyKysely; database: Database.Database } {
  const database = new Database(file);
  if (file !== ':memory:') database.pragma('journal_mode = WAL');
  return { db: new Kysely({ dialect: new SqliteDialect({ database }) }), database };
}

export interface PgOptions {
  /** Shown in `pg_stat_activity`, so a test can find (and terminate) this pool's backends. */
  applicationName?: string;
  max?: number;
}

/** PostgreSQL: user `postgres` (or RP_TEST_PG_USER), trust auth, database `test`. */
export function pgDb(options: PgOptions = {}): { db: AnyKysely; pool: pg.Pool } {
  const pool = new pg.Pool({
    ...SERVICES.postgres,
    user: process.env.RP_TEST_PG_USER ?? 'postgres',
    database: process.env.RP_TEST_PG_DATABASE ?? 'test',
    max: options.max ?? 4,
    ...(options.applicationName === undefined ? {} : { application_name: options.applicationName }),
  });
  // node-postgres emits 'error' when a connection dies: on the pool for an idle client, on the
  // client itself for a checked-out one (Kysely holds it mid-transaction). Unhandled, either
  // crashes the process; the failed query still rejects, which is what the adapter reports.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return { db: new Kysely({ dialect: new PostgresDialect({ pool }) }), pool };
}

/** MariaDB/MySQL: root, empty password, database `test`. */
export function mysqlDb(connectionLimit = 4): AnyKysely {
  const pool = createPool({
    ...SERVICES.mysql,
    user: process.env.RP_TEST_MYSQL_USER ?? 'root',
    password: process.env.RP_TEST_MYSQL_PASSWORD ?? '',
    database: process.env.RP_TEST_MYSQL_DATABASE ?? 'test',
    connectionLimit,
  });
  return new Kysely({ dialect: new MysqlDialect({ pool }) });
}

export async function dropTables(db: AnyKysely, prefix: string): Promise<void> {
  for (const table of Object.values(sqlTableNames(prefix))) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  }
}

export async function emptyTables(db: AnyKysely, prefix: string): Promise<void> {
  for (const table of Object.values(sqlTableNames(prefix))) await db.deleteFrom(table).execute();
}

/**
 * A conformance factory over one shared database: migrates once (`ready`), then every
 * `createAdapter` call empties the tables and returns a new adapter on them.
 */
export function sharedTablesFactory(
  db: AnyKysely,
  prefix: string,
  extra: Partial<SqlStorageOptions> = {},
): { ready: () => Promise<void>; createAdapter: CreateAdapter } {
  return {
    ready: () => migrateSqlStorage({ db, tablePrefix: prefix }),
    createAdapter: async ({ retention }) => {
      await emptyTables(db, prefix);
      return createSqlStorage({ db, tablePrefix: prefix, migrate: false, retention, ...extra });
    },
  };
}

/** Wraps an adapter so that closing it also destroys a Kysely instance the test made for it. */
export function closingDb(adapter: StorageAdapter, db: AnyKysely): StorageAdapter {
  return {
    ...adapter,
    async close() {
      await adapter.close();
      await db.destroy();
    },
  };
}
