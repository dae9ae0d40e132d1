/**
 * A task's latest known state on the client, and the pure steps that advance it. States are
 * immutable: every change makes a new object, so `useSyncExternalStore` and other
 * identity-based stores see it. Every state is built by `taskState()` with the same fields in
 * the same order (absent ones `undefined`): one object shape, so the step taken per received
 * event stays a cheap monomorphic allocation, not a spread that reshapes the object.
 */
import type { ProgressPayload, TaskErrorPayload, TaskEventMessage, TaskStatus } from '../shared/protocol.js';

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
  /** Current status; `undefined` before anything is known. */
  readonly status?: TaskStatus | undefined;
  /**
   * Latest progress fields with the current status (the seed's `GET /progress/:task_id`
   * body); `undefined` before any progress or snapshot.
   */
  readonly latest?: ProgressPayload | undefined;
  /** Error text of the latest `status` event (`''` when none). */
  readonly error: string;
  /** Result of the latest `status` event (`null` when none). */
  readonly result: unknown;
  /** The latest step failure (`error` event), if any. */
  readonly lastError?: TaskErrorPayload | undefined;
  /**
   * `false` once the server said some of this task's events could not be replayed (its history
   * was trimmed past them) and the state jumped to a snapshot.
   */
  readonly recovered: boolean;
}

/** The one constructor of states: every field, always in this order. */
const taskState = (
  { taskId, error, result, lastError, recovered }: TaskState,
  seq: number,
  status: TaskStatus | undefined,
  latest: ProgressPayload | undefined,
): TaskState => ({ taskId, seq, status, latest, error, result, lastError, recovered });

export const initialTaskState = (taskId: string, seq = 0): TaskState =>
  taskState({ taskId, seq, error: '', result: null, recovered: true }, seq, undefined, undefined);

/** The state after one task event. */
export function applyTaskEvent(state: TaskState, event: TaskEventMessage): TaskState {
  switch (event.type) {
    case 'progress':
      return taskState(state, event.seq, event.payload.status, event.payload);
    case 'status': {
      const { status, error, result, timestamp } = event.payload;
      const { latest } = state;
      const next = { ...state, error, result };
      return taskState(next, event.seq, status, latest && { ...latest, status, timestamp });
    }
    case 'error':
      return taskState({ ...state, lastError: event.payload }, event.seq, state.status, state.latest);
  }
}

/** The state a snapshot (the latest state sent on subscribe) establishes. */
export function applySnapshot(
  state: TaskState,
  seq: number,
  payload: ProgressPayload,
  recovered: boolean,
): TaskState {
  return taskState({ ...state, recovered: state.recovered && recovered }, seq, payload.status, payload);
}
