/**
 * The SQL adapter on PostgreSQL (127.0.0.1:5432, database `test`). Skips locally when the server
 * is down; under CI it must run.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runStorageConformance } from '../../src/testing/index.js';
import { pgAvailable, requireService } from '../helpers/services.js';
import { dropTables, pgDb, sharedTablesFactory, uniquePrefix } from '../helpers/sql-databases.js';

const run = requireService('PostgreSQL', await pgAvailable());

describe.runIf(run)('sql storage: postgres', () => {
  const { db } = pgDb();
  const prefix = uniquePrefix('conf');
  const shared = sharedTablesFactory(db, prefix);
  beforeAll(shared.ready);
  afterAll(async () => {
    await dropTables(db, prefix);
    await db.destroy();
  });
  runStorageConformance('postgres', shared.createAdapter, { describe, it, expect, beforeEach, afterEach });
});
