/**
 * Publisher-side throttle: progress updates of one task closer together than the interval
 * are coalesced to the latest. The first update goes out at once; a pending update is
 * flushed before any status or error of its task, so the last progress before a status
 * change is never lost. One timer per throttled task, not per update.
 */
import type { ProgressInput } from '../adapters/storage/types.js';

export interface PublishReceipt {
  readonly taskId: string;
  /** The `seq` of the stored event (for a coalesced update: of the event that replaced it). */
  readonly seq: number;
  /** `true` when this update was replaced by a newer one before it was written. */
  readonly coalesced: boolean;
}

type Write = (taskId: string, input: ProgressInput) => Promise<PublishReceipt>;

interface Waiter {
  resolve(receipt: PublishReceipt): void;
  reject(error: unknown): void;
}

interface TaskThrottle {
  lastWriteAtMs: number;
  pending: { input: ProgressInput; waiters: Waiter[] } | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Past this many tracked tasks, idle entries are swept so the map stays bounded. */
const SWEEP_ABOVE_TASKS = 10_000;

export interface ProgressThrottle {
  progress(taskId: string, input: ProgressInput): Promise<PublishReceipt>;
  /** Writes the task's pending update now; call before writing a status or error. */
  flush(taskId: string): Promise<void>;
  /** Forgets the task (after a terminal status) so its next update goes out at once. */
  forget(taskId: string): void;
  /** Writes every pending update. */
  flushAll(): Promise<void>;
}

export function createProgressThrottle(
  intervalMs: number,
  write: Write,
  now: () => number,
): ProgressThrottle {
  const tasks = new Map<string, TaskThrottle>();

  const writePending = async (taskId: string, state: TaskThrottle): Promise<void> => {
    if (state.timer !== undefined) clearTimeout(state.timer);
    state.timer = undefined;
    const pending = state.pending;
    if (pending === undefined) return;
    state.pending = undefined;
    state.lastWriteAtMs = now();
    const last = pending.waiters.length - 1;
    try {
      const receipt = await write(taskId, pending.input);
      pending.waiters.forEach((waiter, index) => {
        waiter.resolve(index === last ? receipt : { ...receipt, coalesced: true });
      });
    } catch (error) {
      for (const waiter of pending.waiters) waiter.reject(error);
    }
  };

  const sweep = (): void => {
    const cutoff = now() - intervalMs;
    for (const [taskId, state] of tasks) {
      if (state.pending === undefined && state.lastWriteAtMs < cutoff) tasks.delete(taskId);
    }
  };

  return {
    progress(taskId, input) {
      const at = now();
      let state = tasks.get(taskId);
      if (state === undefined) {
        if (tasks.size >= SWEEP_ABOVE_TASKS) sweep();
        state = { lastWriteAtMs: Number.NEGATIVE_INFINITY, pending: undefined, timer: undefined };
        tasks.set(taskId, state);
      }
      if (state.pending === undefined && at - state.lastWriteAtMs >= intervalMs) {
        state.lastWriteAtMs = at;
        return write(taskId, input);
      }
      const throttled = state;
      return new Promise<PublishReceipt>((resolve, reject) => {
        if (throttled.pending === undefined) throttled.pending = { input, waiters: [] };
        else throttled.pending.input = input;
        throttled.pending.waiters.push({ resolve, reject });
        if (throttled.timer === undefined) {
          const delay = Math.max(0, throttled.lastWriteAtMs + intervalMs - at);
          throttled.timer = setTimeout(() => void writePending(taskId, throttled), delay);
        }
      });
    },
    async flush(taskId) {
      const state = tasks.get(taskId);
      if (state !== undefined) await writePending(taskId, state);
    },
    forget(taskId) {
      const state = tasks.get(taskId);
      if (state !== undefined && state.pending === undefined) tasks.delete(taskId);
    },
    async flushAll() {
      await Promise.all([...tasks].map(([taskId, state]) => writePending(taskId, state)));
    },
  };
}
