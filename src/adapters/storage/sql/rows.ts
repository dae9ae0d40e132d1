/**
 * Conversions between the adapter's records and table rows. JSON goes in and out here only.
 */
import type { Insertable, Selectable } from 'kysely';
import { rfc3339 } from '../../../shared/messages.js';
import type { ProgressPayload, TaskStatus } from '../../../shared/protocol.js';
import type { ConnectionRecord, SessionRecord, StoredTaskEvent, TaskSnapshot } from '../types.js';
import {
  type HistoryTable,
  type ResumeSessionsTable,
  type TasksTable,
  toNumber,
  type WebSocketSessionsTable,
} from './schema.js';

/** `JSON.stringify(undefined)` is `undefined`; a stored "no value" reads back as `null`. */
const toJson = (value: unknown): string => JSON.stringify(value) ?? 'null';

export function historyRow(event: StoredTaskEvent, state: ProgressPayload): Insertable<HistoryTable> {
  return {
    task_id: event.taskId,
    seq: event.seq,
    type: event.type,
    progress: state.progress,
    current_step: state.current_step,
    total_steps: state.total_steps,
    completed_steps: state.completed_steps,
    message: state.message,
    status: state.status,
    metadata: state.metadata === undefined ? null : toJson(state.metadata),
    // A progress event's payload is the state after it, so its columns already hold it exactly.
    payload: event.type === 'progress' ? null : toJson(event.payload),
    created_at: event.createdAtMs,
  };
}

export function eventFromRow(row: Selectable<HistoryTable>): StoredTaskEvent {
  const base = { taskId: row.task_id, seq: toNumber(row.seq), createdAtMs: toNumber(row.created_at) };
  switch (row.type) {
    case 'progress': {
      const payload: ProgressPayload = {
        task_id: row.task_id,
        progress: row.progress,
        current_step: row.current_step,
        total_steps: toNumber(row.total_steps),
        completed_steps: toNumber(row.completed_steps),
        message: row.message,
        status: row.status as TaskStatus,
        timestamp: rfc3339(base.createdAtMs),
      };
      if (row.metadata !== null) payload.metadata = JSON.parse(row.metadata);
      return { ...base, type: 'progress', payload };
    }
    case 'status':
      return { ...base, type: 'status', payload: JSON.parse(row.payload ?? 'null') };
    default:
      return { ...base, type: 'error', payload: JSON.parse(row.payload ?? 'null') };
  }
}

export function taskRow(snapshot: TaskSnapshot): Insertable<TasksTable> {
  return {
    task_id: snapshot.taskId,
    seq: snapshot.seq,
    status: snapshot.state.status,
    state: toJson(snapshot.state),
    error: snapshot.error,
    result: toJson(snapshot.result),
    created_at: snapshot.createdAtMs,
    updated_at: snapshot.updatedAtMs,
  };
}

/** A row that reserves a task id so it can be locked before its first event is written. */
export function placeholderTaskRow(taskId: string, nowMs: number): Insertable<TasksTable> {
  return {
    task_id: taskId,
    seq: 0,
    status: 'pending',
    state: 'null',
    error: '',
    result: 'null',
    created_at: nowMs,
    updated_at: nowMs,
  };
}

/** The snapshot of a task row, or `null` for a placeholder (`seq = 0`). */
export function snapshotFromRow(row: Selectable<TasksTable>): TaskSnapshot | null {
  const seq = toNumber(row.seq);
  if (seq === 0) return null;
  return {
    taskId: row.task_id,
    seq,
    state: JSON.parse(row.state),
    error: row.error,
    result: JSON.parse(row.result),
    createdAtMs: toNumber(row.created_at),
    updatedAtMs: toNumber(row.updated_at),
  };
}

export function sessionRow(session: SessionRecord): Insertable<ResumeSessionsTable> {
  return {
    client_id: session.clientId,
    user_id: session.userId,
    project_id: session.projectId,
    subscriptions: toJson(session.subscriptions),
    last_active_at: session.lastActiveAtMs,
    expires_at: session.expiresAtMs,
  };
}

export function sessionFromRow(row: Selectable<ResumeSessionsTable>): SessionRecord {
  return {
    clientId: row.client_id,
    userId: row.user_id,
    projectId: row.project_id,
    subscriptions: JSON.parse(row.subscriptions),
    lastActiveAtMs: toNumber(row.last_active_at),
    expiresAtMs: toNumber(row.expires_at),
  };
}

export function connectionRow(record: ConnectionRecord, nowMs: number): Insertable<WebSocketSessionsTable> {
  return {
    client_id: record.clientId,
    user_id: record.userId,
    project_id: record.projectId,
    connected_at: record.connectedAtMs,
    disconnected_at: record.disconnectedAtMs,
    last_active_at: record.lastActiveAtMs,
    message_count: record.messageCount,
    ip_address: record.ipAddress,
    user_agent: record.userAgent,
    created_at: nowMs,
    updated_at: nowMs,
  };
}

export function connectionFromRow(row: Selectable<WebSocketSessionsTable>): ConnectionRecord {
  return {
    clientId: row.client_id,
    userId: row.user_id,
    projectId: row.project_id,
    connectedAtMs: toNumber(row.connected_at),
    disconnectedAtMs: row.disconnected_at === null ? null : toNumber(row.disconnected_at),
    lastActiveAtMs: toNumber(row.last_active_at),
    messageCount: toNumber(row.message_count),
    ipAddress: row.ip_address,
    userAgent: row.user_agent,
  };
}
