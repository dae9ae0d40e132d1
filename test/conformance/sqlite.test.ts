/**
 * The SQL adapter on SQLite: a fresh in-memory database per case (lazy migration on first use),
 * with and without `sqliteDatabase` (prepared statements), and a WAL file shared by the cases
 * (migrated once, emptied per case).
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSqlStorage } from '../../src/adapters/storage/sql/index.js';
import { runStorageConformance } from '../../src/testing/index.js';
import {
  closingDb,
  sharedTablesFactory,
  sqliteConnection,
  sqliteDb,
  tempDir,
} from '../helpers/sql-databases.js';

runStorageConformance(
  'sql storage: sqlite :memory:',
  ({ retention }) => {
    const db = sqliteDb();
    return closingDb(createSqlStorage({ db, retention }), db);
  },
  { describe, it, expect, beforeEach, afterEach },
);

runStorageConformance(
  'sql storage: sqlite :memory: with sqliteDatabase',
  ({ retention }) => {
    const { db, database } = sqliteConnection();
    return closingDb(createSqlStorage({ db, retention, sqliteDatabase: database }), db);
  },
  { describe, it, expect, beforeEach, afterEach },
);

const dir = tempDir();
const db = sqliteDb(join(dir.path, 'conformance.db'));
const shared = sharedTablesFactory(db, 'rp_');

describe('sql storage: sqlite WAL file', () => {
  beforeAll(shared.ready);
  afterAll(async () => {
    await db.destroy();
    dir.remove();
  });
  runStorageConformance('shared file', shared.createAdapter, { describe, it, expect, beforeEach, afterEach });
});
