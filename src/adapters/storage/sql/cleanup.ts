/**
 * `cleanup()`: deletes events past their TTL and expired sessions in short chunks, so it never
 * holds locks long enough to stall the publish path. (Per-task trimming happens on append.)
 */
import type { Kysely } from 'kysely';
import type { CleanupResult } from '../types.js';
import { type SqlSchema, type TableNames, toNumber } from './schema.js';

/** Rows deleted per statement. */
const CHUNK_ROWS = 1000;

export async function cleanup(
  db: Kysely<SqlSchema>,
  tables: TableNames,
  ttlMs: number,
  nowMs: number,
): Promise<CleanupResult> {
  let eventsDeleted = 0;
  if (ttlMs > 0) {
    const cutoff = nowMs - ttlMs;
    for (;;) {
      // Select then delete by primary key: portable (no DELETE ... LIMIT on PostgreSQL or
      // SQLite, no LIMIT in an IN subquery on MySQL) and each statement stays small.
      const ids = await db
        .selectFrom(tables.progress_history)
        .select('id')
        .where('created_at', '<', cutoff)
        .orderBy('created_at')
        .limit(CHUNK_ROWS)
        .execute();
      if (ids.length === 0) break;
      const result = await db
        .deleteFrom(tables.progress_history)
        .where(
          'id',
          'in',
          ids.map((row) => row.id),
        )
        .executeTakeFirst();
      eventsDeleted += toNumber(result.numDeletedRows);
      if (ids.length < CHUNK_ROWS) break;
    }
  }
  const sessions = await db
    .deleteFrom(tables.resume_sessions)
    .where('expires_at', '<=', nowMs)
    .executeTakeFirst();
  return { eventsDeleted, sessionsDeleted: toNumber(sessions.numDeletedRows) };
}
