/**
 * The four tables as Kysely sees them, and their real (prefixed) names.
 */
import type { ColumnType, Generated } from 'kysely';

/** A bigint column: written as a number, read back as a number or (pg, mysql2 options) a string. */
type BigIntColumn = ColumnType<number | string, number, number>;
type NullableBigIntColumn = ColumnType<number | string | null, number | null, number | null>;

/** One stored event (the seed's `ProgressHistory`); progress columns hold the state after it. */
export interface HistoryTable {
  id: Generated<number | string>;
  task_id: string;
  seq: BigIntColumn;
  type: string;
  progress: number;
  current_step: string;
  total_steps: BigIntColumn;
  completed_steps: BigIntColumn;
  message: string;
  status: string;
  /** JSON of the progress metadata, or `NULL`. */
  metadata: string | null;
  /** JSON payload of `status` and `error` events; `NULL` for `progress`, rebuilt from the columns. */
  payload: string | null;
  created_at: BigIntColumn;
}

/** Latest snapshot and last `seq` per task; `seq = 0` marks a row reserved but not yet written. */
export interface TasksTable {
  task_id: string;
  seq: BigIntColumn;
  status: string;
  /** JSON of the snapshot's `state` (a progress payload). */
  state: string;
  error: string;
  /** JSON of the latest status event's `result`. */
  result: string;
  created_at: BigIntColumn;
  updated_at: BigIntColumn;
}

/** A connection audit record (the seed's `WebSocketSession`). */
export interface WebSocketSessionsTable {
  id: Generated<number | string>;
  client_id: string;
  user_id: string;
  project_id: string;
  connected_at: BigIntColumn;
  disconnected_at: NullableBigIntColumn;
  last_active_at: BigIntColumn;
  message_count: BigIntColumn;
  ip_address: string;
  user_agent: string;
  created_at: BigIntColumn;
  updated_at: BigIntColumn;
}

/** A resumable session (`SessionRecord`). */
export interface ResumeSessionsTable {
  client_id: string;
  user_id: string;
  project_id: string;
  /** JSON object: task id -> last delivered `seq`. */
  subscriptions: string;
  last_active_at: BigIntColumn;
  expires_at: BigIntColumn;
}

export interface SqlSchema {
  progress_history: HistoryTable;
  tasks: TasksTable;
  websocket_sessions: WebSocketSessionsTable;
  resume_sessions: ResumeSessionsTable;
}

/**
 * Real table names, typed as the logical ones: `selectFrom(tables.tasks)` runs against
 * `rp_tasks` while Kysely type-checks its columns against {@link TasksTable}. Queries stay
 * single-table so no qualified column reference ever needs the real name.
 */
export type TableNames = { readonly [K in keyof SqlSchema]: K };

/** The prefixed names of the adapter's tables. */
export function sqlTableNames(tablePrefix: string): { readonly [K in keyof SqlSchema]: string } {
  return {
    progress_history: `${tablePrefix}progress_history`,
    tasks: `${tablePrefix}tasks`,
    websocket_sessions: `${tablePrefix}websocket_sessions`,
    resume_sessions: `${tablePrefix}resume_sessions`,
  };
}

export function typedTableNames(tablePrefix: string): TableNames {
  return sqlTableNames(tablePrefix) as unknown as TableNames;
}

/** Reads a bigint column as a number (pg returns int8 as a string). */
export const toNumber = (value: number | string | bigint): number => Number(value);
