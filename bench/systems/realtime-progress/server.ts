/**
 * Our server with its defaults, on memory storage, or (scenario F) on SQLite through the
 * Kysely adapter with its default group commit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { StorageAdapter } from '../../../src/server/index.js';
import { type CreateSystemServer, PROGRESS_PATH } from '../types.js';
import { loadServer, loadSql } from './ours.js';

export const createServer: CreateSystemServer = async (httpServer, config) => {
  const { createMemoryStorage, createProgressServer } = await loadServer();
  const sqlite = config.storage === 'sqlite' ? await openSqlite() : undefined;
  const storage: StorageAdapter = sqlite?.storage ?? createMemoryStorage();
  const server = createProgressServer(httpServer, storage, { path: PROGRESS_PATH });
  return {
    publish: (taskId, update) => server.publish(taskId, update),
    clientCount: () => server.stats().totalClients,
    async close() {
      await server.close();
      await sqlite?.close();
    },
  };
};

/**
 * A file database in a temp directory with WAL and `synchronous = NORMAL`, the usual setting
 * for an embedded server (durable across process crashes; an fsync per checkpoint, not per commit),
 * and the adapter set up as `docs/storage-adapters.md` recommends for SQLite (`sqliteDatabase`).
 */
async function openSqlite(): Promise<{ storage: StorageAdapter; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'rp-bench-'));
  const database = new Database(join(dir, 'progress.db'));
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
  const { createSqlStorage } = await loadSql();
  const storage = createSqlStorage({ db, sqliteDatabase: database });
  await storage.migrate();
  return {
    storage,
    async close() {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
