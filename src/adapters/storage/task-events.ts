/**
 * The rules every storage adapter applies when it appends an event: the lifecycle check and
 * the snapshot update. Pure, so adapters call it inside their own transaction.
 */
import { rfc3339 } from '../../shared/messages.js';
import { type ProgressPayload, TERMINAL_STATUSES } from '../../shared/protocol.js';
import type { NewTaskEvent, ProgressInput, StoredTaskEvent, TaskSnapshot } from './types.js';

export type ApplyResult =
  | { readonly ok: true; readonly event: StoredTaskEvent; readonly snapshot: TaskSnapshot }
  | { readonly ok: false; readonly code: 'TASK_FINISHED'; readonly message: string };

/**
 * Gives `event` the next `seq` after `snapshot` and returns the stored event with the new
 * snapshot, or refuses a progress event for a finished task (`TASK_FINISHED`).
 * Progress on a new or pending task makes it `running`; progress reaching 100 does not
 * complete it; any status may follow any status (a finished task is reopened by
 * `pending` or `running`).
 */
export function applyTaskEvent(snapshot: TaskSnapshot | null, event: NewTaskEvent): ApplyResult {
  const { taskId, timestampMs } = event;
  const seq = (snapshot?.seq ?? 0) + 1;
  const timestamp = rfc3339(timestampMs);
  const base = snapshot?.state ?? {
    task_id: taskId,
    progress: 0,
    current_step: '',
    total_steps: 0,
    completed_steps: 0,
    message: '',
    status: 'pending' as const,
    timestamp,
  };
  const createdAtMs = snapshot?.createdAtMs ?? timestampMs;

  switch (event.type) {
    case 'progress': {
      if (TERMINAL_STATUSES.has(base.status)) {
        return {
          ok: false,
          code: 'TASK_FINISHED',
          message: `Task "${taskId}" is ${base.status}; reopen it with setStatus(taskId, 'running') before publishing progress.`,
        };
      }
      const payload = progressPayload(taskId, event.data, timestamp);
      return appended(
        { taskId, seq, type: 'progress', payload, createdAtMs: timestampMs },
        payload,
        '',
        null,
        createdAtMs,
      );
    }
    case 'status': {
      const { status, error, result } = event.data;
      const payload = { task_id: taskId, status, error, result, timestamp };
      const state = { ...base, status, timestamp };
      return appended(
        { taskId, seq, type: 'status', payload, createdAtMs: timestampMs },
        state,
        error,
        result,
        createdAtMs,
      );
    }
    case 'error': {
      const payload = {
        execution_id: taskId,
        step_id: event.data.step_id,
        error: event.data.error,
        timestamp,
      };
      return appended(
        { taskId, seq, type: 'error', payload, createdAtMs: timestampMs },
        base,
        snapshot?.error ?? '',
        snapshot?.result ?? null,
        createdAtMs,
      );
    }
  }
}

/**
 * A progress event's payload, in the wire's key order. Written out rather than spread from
 * `data`: a spread costs several times a literal, and most when it runs cold, as it does for
 * every event of a quiet server.
 */
function progressPayload(taskId: string, data: ProgressInput, timestamp: string): ProgressPayload {
  const { progress, current_step, total_steps, completed_steps, message, metadata } = data;
  const status = 'running';
  return metadata === undefined
    ? { task_id: taskId, progress, current_step, total_steps, completed_steps, message, status, timestamp }
    : {
        task_id: taskId,
        progress,
        current_step,
        total_steps,
        completed_steps,
        message,
        metadata,
        status,
        timestamp,
      };
}

/**
 * The stored event and the task's snapshot after it (a plain function, not a closure made per
 * append: this runs for every event).
 */
function appended(
  event: StoredTaskEvent,
  state: TaskSnapshot['state'],
  error: string,
  result: unknown,
  createdAtMs: number,
): ApplyResult {
  const { taskId, seq, createdAtMs: updatedAtMs } = event;
  return { ok: true, event, snapshot: { taskId, seq, state, error, result, createdAtMs, updatedAtMs } };
}
