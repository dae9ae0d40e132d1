/**
 * A task's latest known state on the client, and the pure steps that advance it. States are
 * immutable: every change makes a new object, so `useSyncExternalStore` and other
 * identity-based stores see it.
 */
import type {
  ProgressPayload,
  StatusPayload,
  TaskErrorPayload,
  TaskEventMessage,
  TaskStatus,
} from '../shared/protocol.js';

/**
 * Statuses after which a task takes no more progress until reopened. The same set as the
 * shared `TERMINAL_STATUSES`, repeated because that module carries the zod schemas, which
 * would not fit the client's size budget.
 */
const TERMINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

/** A terminal status. */
export type TerminalStatus = 'completed' | 'failed' | 'cancelled';

export const isTerminal = (status: TaskStatus | undefined): status is TerminalStatus =>
  status !== undefined && TERMINAL.has(status);

export interface TaskState {
  readonly taskId: string;
  /** Last `seq` applied; `0` before any event or snapshot. */
  readonly seq: number;
  /** Current status; absent before anything is known. */
  readonly status?: TaskStatus;
  /**
   * Latest progress fields with the current status (the seed's `GET /progress/:task_id`
   * body); absent before any progress or snapshot.
   */
  readonly latest?: ProgressPayload;
  /** Error text of the latest `status` event (`''` when none). */
  readonly error: string;
  /** Result of the latest `status` event (`null` when none). */
  readonly result: unknown;
  /** The latest step failure (`error` event), if any. */
  readonly lastError?: TaskErrorPayload;
  /**
   * `false` once the server said some of this task's events could not be replayed (its history
   * was trimmed past them) and the state jumped to a snapshot.
   */
  readonly recovered: boolean;
}

export function initialTaskState(taskId: string): TaskState {
  return { taskId, seq: 0, error: '', result: null, recovered: true };
}

/** The state after one task event. */
export function applyTaskEvent(state: TaskState, event: TaskEventMessage): TaskState {
  switch (event.type) {
    case 'progress':
      return { ...state, seq: event.seq, status: event.payload.status, latest: event.payload };
    case 'status':
      return applyStatus(state, event.seq, event.payload);
    case 'error':
      return { ...state, seq: event.seq, lastError: event.payload };
  }
}

function applyStatus(state: TaskState, seq: number, payload: StatusPayload): TaskState {
  const { status, error, result, timestamp } = payload;
  const next = { ...state, seq, status, error, result };
  if (state.latest !== undefined) next.latest = { ...state.latest, status, timestamp };
  return next;
}

/** The state a snapshot (the latest state sent on subscribe) establishes. */
export function applySnapshot(
  state: TaskState,
  seq: number,
  payload: ProgressPayload,
  recovered: boolean,
): TaskState {
  return { ...state, seq, status: payload.status, latest: payload, recovered: state.recovered && recovered };
}
