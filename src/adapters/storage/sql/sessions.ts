/**
 * Resumable sessions and connection audit records: single-row upserts keyed by client id.
 */
import type { Kysely } from 'kysely';
import type { ConnectionRecord, SessionRecord } from '../types.js';
import type { SqlDialectName } from './dialect.js';
import { connectionFromRow, connectionRow, sessionFromRow, sessionRow } from './rows.js';
import type { SqlSchema, TableNames } from './schema.js';
import { isStorableId } from './validate.js';

export async function saveSession(
  db: Kysely<SqlSchema>,
  tables: TableNames,
  dialect: SqlDialectName,
  session: SessionRecord,
): Promise<void> {
  const row = sessionRow(session);
  const { client_id: _, ...update } = row;
  const insert = db.insertInto(tables.resume_sessions).values(row);
  if (dialect === 'mysql') await insert.onDuplicateKeyUpdate(update).execute();
  else await insert.onConflict((oc) => oc.column('client_id').doUpdateSet(update)).execute();
}

export async function getSession(
  db: Kysely<SqlSchema>,
  tables: TableNames,
  clientId: string,
  nowMs: number,
): Promise<SessionRecord | null> {
  if (!isStorableId(clientId)) return null;
  const row = await db
    .selectFrom(tables.resume_sessions)
    .selectAll()
    .where('client_id', '=', clientId)
    .where('expires_at', '>', nowMs)
    .executeTakeFirst();
  return row === undefined ? null : sessionFromRow(row);
}

export async function deleteSession(
  db: Kysely<SqlSchema>,
  tables: TableNames,
  clientId: string,
): Promise<void> {
  if (!isStorableId(clientId)) return;
  await db.deleteFrom(tables.resume_sessions).where('client_id', '=', clientId).execute();
}

export async function recordConnection(
  db: Kysely<SqlSchema>,
  tables: TableNames,
  dialect: SqlDialectName,
  record: ConnectionRecord,
  nowMs: number,
): Promise<void> {
  const row = connectionRow(record, nowMs);
  // created_at keeps the first write's time; everything else follows the latest record.
  const { client_id: _, created_at: __, ...update } = row;
  const insert = db.insertInto(tables.websocket_sessions).values(row);
  if (dialect === 'mysql') await insert.onDuplicateKeyUpdate(update).execute();
  else await insert.onConflict((oc) => oc.column('client_id').doUpdateSet(update)).execute();
}

export async function getConnection(
  db: Kysely<SqlSchema>,
  tables: TableNames,
  clientId: string,
): Promise<ConnectionRecord | null> {
  if (!isStorableId(clientId)) return null;
  const row = await db
    .selectFrom(tables.websocket_sessions)
    .selectAll()
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return row === undefined ? null : connectionFromRow(row);
}
