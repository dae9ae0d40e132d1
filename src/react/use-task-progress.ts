/** `useTaskProgress`: a task's live state for a component, on `useSyncExternalStore`. */
import { useCallback, useEffect, useRef, useSyncExternalStore } from 'react';
import type {
  ClientErrorEvent,
  ConnectionState,
  ProgressClient,
  ReconnectedEvent,
  TaskCompleteEvent,
  TaskProgressEvent,
} from '../client/index.js';
import type { TaskStatus } from '../shared/protocol.js';
import { useProgressClient } from './provider.js';
import { emptyTaskSnapshot, type TaskHistoryItem, taskStore } from './task-store.js';

export interface UseTaskProgressOptions {
  /** The client to use. @default the nearest `ProgressProvider`'s */
  client?: ProgressClient | null;
  /** Each progress event of the task (snapshots included). */
  onProgress?: (event: TaskProgressEvent) => void;
  /** The task reached `completed`, `failed` or `cancelled`. */
  onComplete?: (event: TaskCompleteEvent) => void;
  /** A step of the task failed, or the server refused the subscription (`FORBIDDEN`, ...). */
  onError?: (event: ClientErrorEvent) => void;
  /** The client reconnected (any task). */
  onReconnect?: (event: ReconnectedEvent) => void;
}

/** What `useTaskProgress` returns; fields are `undefined`/empty until something is known. */
export interface TaskProgress {
  readonly progress: number;
  readonly status: TaskStatus | undefined;
  readonly currentStep: string;
  readonly totalSteps: number;
  readonly completedSteps: number;
  readonly message: string;
  /** The latest failure: a failed status's error, or a step's error event. */
  readonly error: string | undefined;
  /** Events seen on this page, oldest first (bounded). */
  readonly history: readonly TaskHistoryItem[];
  readonly connectionState: ConnectionState;
  /** Last `seq` applied. */
  readonly seq: number;
  /** `false` when the server could not replay some events and the state jumped to the latest. */
  readonly recovered: boolean;
}

const idle = (): ConnectionState => 'idle';
const noop = () => () => {};

/**
 * Follows a task for as long as the component is mounted. Renders on the server without a
 * socket (the first client render matches it), subscribes on mount, and lets go on unmount.
 * Callbacks may be inline functions: the latest is always called, and a new one never
 * resubscribes.
 * @example
 * const { progress, status, currentStep } = useTaskProgress('task-001');
 */
export function useTaskProgress(taskId: string, options: UseTaskProgressOptions = {}): TaskProgress {
  const fromContext = useProgressClient();
  const client = options.client === undefined ? fromContext : options.client;
  const store = client === null ? undefined : taskStore(client, taskId);
  const snapshot = useSyncExternalStore(
    store?.subscribe ?? noop,
    store?.getSnapshot ?? emptyTaskSnapshot,
    emptyTaskSnapshot,
  );
  const subscribeState = useCallback(
    (onChange: () => void) => {
      client?.on('state', onChange);
      return () => void client?.off('state', onChange);
    },
    [client],
  );
  const connectionState = useSyncExternalStore(subscribeState, () => client?.state ?? 'idle', idle);

  const callbacks = useRef(options);
  callbacks.current = options;
  useEffect(() => {
    if (client === null) return;
    const onProgress = (event: TaskProgressEvent) =>
      event.taskId === taskId && callbacks.current.onProgress?.(event);
    const onComplete = (event: TaskCompleteEvent) =>
      event.taskId === taskId && callbacks.current.onComplete?.(event);
    const onError = (event: ClientErrorEvent) =>
      event.taskId === taskId && callbacks.current.onError?.(event);
    const onReconnect = (event: ReconnectedEvent) => callbacks.current.onReconnect?.(event);
    client.on('progress', onProgress);
    client.on('complete', onComplete);
    client.on('error', onError);
    client.on('reconnected', onReconnect);
    return () => {
      client.off('progress', onProgress);
      client.off('complete', onComplete);
      client.off('error', onError);
      client.off('reconnected', onReconnect);
    };
  }, [client, taskId]);

  const { state, history } = snapshot;
  const latest = state?.latest;
  const failedStatus = state?.status === 'failed' && state.error !== '' ? state.error : undefined;
  return {
    progress: latest?.progress ?? 0,
    status: state?.status,
    currentStep: latest?.current_step ?? '',
    totalSteps: latest?.total_steps ?? 0,
    completedSteps: latest?.completed_steps ?? 0,
    message: latest?.message ?? '',
    error: failedStatus ?? state?.lastError?.error,
    history,
    connectionState,
    seq: state?.seq ?? 0,
    recovered: state?.recovered ?? true,
  };
}
