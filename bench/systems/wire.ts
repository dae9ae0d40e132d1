/**
 * The benchmark's event and the wire message that raw ws and Socket.IO send for it, built
 * field for field like realtime-progress's own `progress` message so that all three systems
 * serialise and parse the same bytes (about 200 bytes of payload).
 */
import type { BenchUpdate } from './types.js';

const MESSAGE = 'Encoding 1080p';

/** The `n`-th update of a run, stamped with `sentAtMs`. */
export function benchUpdate(n: number, sentAtMs: number): BenchUpdate {
  return {
    progress: n % 101,
    currentStep: 'encode',
    totalSteps: 100,
    completedSteps: n % 100,
    message: MESSAGE,
    // Rounded to the microsecond so the number's JSON length does not vary from event to event.
    metadata: { t: Math.round(sentAtMs * 1000) / 1000 },
  };
}

/** `{"type":"progress","task_id","seq","payload":{...}}`, payload fields in realtime-progress's order. */
export function progressMessage(taskId: string, seq: number, update: BenchUpdate): object {
  return {
    type: 'progress',
    task_id: taskId,
    seq,
    payload: {
      task_id: taskId,
      progress: update.progress,
      current_step: update.currentStep,
      total_steps: update.totalSteps,
      completed_steps: update.completedSteps,
      message: update.message,
      metadata: update.metadata,
      status: 'running',
      timestamp: new Date().toISOString(),
    },
  };
}

/** Task ids: `task-000` ... so that every id has the same length. */
export function taskId(index: number): string {
  return `task-${String(index).padStart(3, '0')}`;
}

/** The send time of a received `progress` message, or `undefined` for anything else. */
export function sentAtOf(message: unknown): number | undefined {
  const t = (message as { payload?: { metadata?: { t?: unknown } } } | null)?.payload?.metadata?.t;
  return typeof t === 'number' ? t : undefined;
}
