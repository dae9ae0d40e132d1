/**
 * The storage contract. The host owns persistence; an adapter is raw I/O over plain data.
 * The SDK validates input before it reaches an adapter and normalises adapter failures.
 * `docs/storage-adapters.md` walks through writing one; `runStorageConformance` tests it.
 */
import type {
  ProgressPayload,
  StatusPayload,
  TaskErrorPayload,
  TaskEventType,
  TaskStatus,
} from '../../shared/protocol.js';

/** What a publisher reports for a progress event (already validated). */
export interface ProgressInput {
  progress: number;
  current_step: string;
  total_steps: number;
  completed_steps: number;
  message: string;
  metadata?: Record<string, unknown>;
}

/** An event before storage has given it a `seq`. `timestampMs` is the publisher's clock. */
export type NewTaskEvent =
  | {
      readonly taskId: string;
      readonly type: 'progress';
      readonly timestampMs: number;
      readonly data: ProgressInput;
    }
  | {
      readonly taskId: string;
      readonly type: 'status';
      readonly timestampMs: number;
      readonly data: { status: TaskStatus; error: string; result: unknown };
    }
  | {
      readonly taskId: string;
      readonly type: 'error';
      readonly timestampMs: number;
      readonly data: { step_id: string; error: string };
    };

/** An event as stored: `seq` is per task, from 1, rising by exactly 1 per event. */
export type StoredTaskEvent =
  | {
      readonly taskId: string;
      readonly seq: number;
      readonly type: 'progress';
      readonly payload: ProgressPayload;
      readonly createdAtMs: number;
    }
  | {
      readonly taskId: string;
      readonly seq: number;
      readonly type: 'status';
      readonly payload: StatusPayload;
      readonly createdAtMs: number;
    }
  | {
      readonly taskId: string;
      readonly seq: number;
      readonly type: 'error';
      readonly payload: TaskErrorPayload;
      readonly createdAtMs: number;
    };

/** A task's latest state and its last assigned `seq`. */
export interface TaskSnapshot {
  readonly taskId: string;
  /** The last `seq` assigned to this task (kept when history is cleared or trimmed). */
  readonly seq: number;
  /** Latest progress fields with the current status: the seed's `GET /progress/:task_id` body. */
  readonly state: ProgressPayload;
  /** Error text of the latest status event (`''` when none). */
  readonly error: string;
  /** Result of the latest status event (`null` when none). */
  readonly result: unknown;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/** One result per appended event, in the same order. */
export type AppendResult =
  | { readonly ok: true; readonly event: StoredTaskEvent }
  | { readonly ok: false; readonly code: 'TASK_FINISHED'; readonly message: string };

export interface HistoryQuery {
  /** Most events to return (the caller bounds it). */
  readonly limit: number;
  /**
   * Return the first `limit` events with `seq > afterSeq`. Without it, return the last `limit`
   * events. Either way the result is in ascending `seq` order.
   */
  readonly afterSeq?: number;
}

/** The seed's `GET /progress/stats` counts. */
export interface TaskStats {
  readonly totalTasks: number;
  /** Tasks `pending` or `running`. */
  readonly activeTasks: number;
  readonly completedTasks: number;
  readonly failedTasks: number;
}

/** A resumable session (the seed's `SessionState`); missed events come from history by `seq`. */
export interface SessionRecord {
  readonly clientId: string;
  readonly userId: string;
  readonly projectId: string;
  /** Subscribed task -> last `seq` the server delivered to this session for it. */
  readonly subscriptions: Readonly<Record<string, number>>;
  readonly lastActiveAtMs: number;
  /** After this instant the session can no longer be resumed. */
  readonly expiresAtMs: number;
}

/** A connection audit record (the seed's `WebSocketSession`), upserted by `clientId`. */
export interface ConnectionRecord {
  readonly clientId: string;
  readonly userId: string;
  readonly projectId: string;
  readonly connectedAtMs: number;
  readonly disconnectedAtMs: number | null;
  readonly lastActiveAtMs: number;
  readonly messageCount: number;
  /** At most 50 characters. */
  readonly ipAddress: string;
  /** At most 500 characters. */
  readonly userAgent: string;
}

export interface CleanupResult {
  readonly eventsDeleted: number;
  readonly sessionsDeleted: number;
}

/** Retention applied by `cleanup()` (and, where cheap, on append). */
export interface RetentionOptions {
  /**
   * Events kept per task; older ones are trimmed (the seed's `MaxHistoryPerTask`).
   * @default 100
   */
  maxEventsPerTask?: number;
  /**
   * Events older than this are deleted by `cleanup()`; `0` keeps them forever.
   * @default 86_400_000 (24 hours)
   */
  ttlMs?: number;
}

export const DEFAULT_RETENTION: Required<RetentionOptions> = { maxEventsPerTask: 100, ttlMs: 86_400_000 };

/**
 * A storage backend. Every method is async and takes plain data. `appendEvents` must assign
 * `seq` atomically per task, also with several processes writing the same task.
 */
export interface StorageAdapter {
  /** Short name for logs and metrics, e.g. `memory`, `sqlite`. */
  readonly name: string;
  /**
   * Appends events in order, giving each the next `seq` of its task and updating the task's
   * snapshot, applying {@link applyTaskEvent}'s rules (a progress event on a finished task is
   * refused with `TASK_FINISHED` and takes no `seq`). Resolves once the events are durable.
   */
  appendEvents(events: readonly NewTaskEvent[]): Promise<AppendResult[]>;
  /** The task's latest state, or `null` if the task is unknown. */
  getSnapshot(taskId: string): Promise<TaskSnapshot | null>;
  /** Stored events of a task in ascending `seq` order (see {@link HistoryQuery}). */
  getHistory(taskId: string, query: HistoryQuery): Promise<StoredTaskEvent[]>;
  /** Deletes a task's stored events, keeping its snapshot and `seq` counter. Resolves to the count deleted. */
  clearHistory(taskId: string): Promise<number>;
  getStats(): Promise<TaskStats>;
  /** Creates or replaces a session. */
  saveSession(session: SessionRecord): Promise<void>;
  /** The session, or `null` if unknown or expired at `nowMs`. */
  getSession(clientId: string, nowMs: number): Promise<SessionRecord | null>;
  deleteSession(clientId: string): Promise<void>;
  /** Creates or updates (by `clientId`) a connection audit record. */
  recordConnection(record: ConnectionRecord): Promise<void>;
  /** The audit record of a client id, or `null`. */
  getConnection(clientId: string): Promise<ConnectionRecord | null>;
  /** Applies retention and deletes expired sessions. */
  cleanup(nowMs: number): Promise<CleanupResult>;
  /** Flushes pending writes and releases what the adapter owns (never the host's database handle). */
  close(): Promise<void>;
}

export type { TaskEventType };
