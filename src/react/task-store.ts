/**
 * One external store per (client, task) for `useSyncExternalStore`: the task's immutable state
 * plus a bounded list of the events seen, shared by every component that follows the task.
 * The store subscribes the client to the task while at least one component listens, so one
 * component unmounting never unsubscribes another.
 */
import type {
  ClientErrorEvent,
  ProgressClient,
  TaskProgressEvent,
  TaskState,
  TaskStatusEvent,
} from '../client/index.js';

/** A task event as the React binding keeps it in `history`. */
export interface TaskHistoryItem {
  readonly seq: number;
  readonly type: 'progress' | 'status' | 'error';
  readonly progress: number | undefined;
  readonly status: string | undefined;
  readonly message: string;
  readonly timestamp: string;
}

export interface TaskSnapshot {
  readonly state: TaskState | undefined;
  /** Events seen on this page, oldest first, at most {@link MAX_HISTORY}. */
  readonly history: readonly TaskHistoryItem[];
}

/** Events kept per task for `history`. */
export const MAX_HISTORY = 100;

export interface TaskStore {
  getSnapshot(): TaskSnapshot;
  subscribe(onChange: () => void): () => void;
}

const EMPTY: TaskSnapshot = { state: undefined, history: [] };
const stores = new WeakMap<ProgressClient, Map<string, TaskStore>>();

/** The shared store of `taskId` on `client`. */
export function taskStore(client: ProgressClient, taskId: string): TaskStore {
  let byTask = stores.get(client);
  if (byTask === undefined) {
    byTask = new Map();
    stores.set(client, byTask);
  }
  let store = byTask.get(taskId);
  if (store === undefined) {
    store = createTaskStore(client, taskId, () => byTask.delete(taskId));
    byTask.set(taskId, store);
  }
  return store;
}

function createTaskStore(client: ProgressClient, taskId: string, forget: () => void): TaskStore {
  let snapshot: TaskSnapshot = { state: client.task(taskId), history: [] };
  const listeners = new Set<() => void>();
  let stop: (() => void) | undefined;

  const update = (state: TaskState, item: TaskHistoryItem | undefined): void => {
    const history = item === undefined ? snapshot.history : [...snapshot.history, item].slice(-MAX_HISTORY);
    snapshot = { state, history };
    for (const listener of listeners) listener();
  };

  const start = (): (() => void) => {
    const onProgress = (event: TaskProgressEvent): void => {
      if (event.taskId !== taskId) return;
      const { payload } = event;
      update(event.state, {
        seq: event.seq,
        type: 'progress',
        progress: payload.progress,
        status: payload.status,
        message: payload.message || payload.current_step,
        timestamp: payload.timestamp,
      });
    };
    const onStatus = (event: TaskStatusEvent): void => {
      if (event.taskId !== taskId) return;
      const { payload } = event;
      update(event.state, {
        seq: event.seq,
        type: 'status',
        progress: undefined,
        status: payload.status,
        message: payload.error,
        timestamp: payload.timestamp,
      });
    };
    const onError = (event: ClientErrorEvent): void => {
      if (event.taskId !== taskId || event.source !== 'task') return;
      const { payload } = event;
      update(event.state, {
        seq: event.seq,
        type: 'error',
        progress: undefined,
        status: undefined,
        message: payload.error,
        timestamp: payload.timestamp,
      });
    };
    client.on('progress', onProgress);
    client.on('status', onStatus);
    client.on('error', onError);
    const subscription = client.subscribe(taskId);
    if (subscription.state !== snapshot.state) update(subscription.state, undefined);
    return () => {
      client.off('progress', onProgress);
      client.off('status', onStatus);
      client.off('error', onError);
      subscription.unsubscribe();
    };
  };

  return {
    getSnapshot: () => snapshot,
    subscribe(onChange) {
      listeners.add(onChange);
      stop ??= start();
      return () => {
        listeners.delete(onChange);
        if (listeners.size === 0) {
          stop?.();
          stop = undefined;
          forget();
        }
      };
    },
  };
}

/** What a server render (no client) sees. */
export const emptyTaskSnapshot = (): TaskSnapshot => EMPTY;
