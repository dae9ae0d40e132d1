/**
 * A separate writer process for the multi-process SQLite test:
 * `node --import tsx sqlite-writer-process.ts <file> <writer> <events> [prepared]` appends
 * `events` progress events spread over three tasks, in small concurrent batches, then exits;
 * with `prepared`, through `sqliteDatabase`'s prepared statements.
 */
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { createSqlStorage } from '../../src/adapters/storage/sql/index.js';

const [file, writer, count, mode] = process.argv.slice(2);
const database = new Database(file!);
database.pragma('journal_mode = WAL');
const db = new Kysely({ dialect: new SqliteDialect({ database }) });
const storage = createSqlStorage({
  db,
  migrate: false,
  batch: { maxEvents: 3, maxDelayMs: 0 },
  retention: { maxEventsPerTask: 100_000 },
  sqliteDatabase: mode === 'prepared' ? database : undefined,
});
await Promise.all(
  Array.from({ length: Number(count) }, (_, n) =>
    storage.appendEvents([
      {
        taskId: `race-${n % 3}`,
        type: 'progress',
        timestampMs: Date.now(),
        data: {
          progress: 1,
          current_step: 'work',
          total_steps: 1,
          completed_steps: 0,
          message: `w${writer}-${n}`,
        },
      },
    ]),
  ),
);
await storage.close();
await db.destroy();
