/**
 * The SQL adapter on MariaDB or MySQL (127.0.0.1:3306, root, database `test`). Skips locally when the server
 * is down; under CI it must run.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runStorageConformance } from '../../src/testing/index.js';
import { mysqlAvailable, requireService } from '../helpers/services.js';
import { dropTables, mysqlDb, sharedTablesFactory, uniquePrefix } from '../helpers/sql-databases.js';

const run = requireService('MariaDB', await mysqlAvailable());

describe.runIf(run)('sql storage: mysql', () => {
  const db = mysqlDb();
  const prefix = uniquePrefix('conf');
  const shared = sharedTablesFactory(db, prefix);
  beforeAll(shared.ready);
  afterAll(async () => {
    await dropTables(db, prefix);
    await db.destroy();
  });
  runStorageConformance('mysql', shared.createAdapter, { describe, it, expect, beforeEach, afterEach });
});
