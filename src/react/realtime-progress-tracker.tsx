/**
 * `RealtimeProgressTracker`: the seed's component, with every prop of its table and the same
 * defaults, on the shared client of a `ProgressProvider` (one socket for many trackers) or,
 * without one, on a client of its own.
 */
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { ProgressClient } from '../client/index.js';
import type { ProgressPayload } from '../shared/protocol.js';
import { useProgressClient } from './provider.js';
import { useTaskProgress } from './use-task-progress.js';

export interface RealtimeProgressTrackerProps {
  /** The task to follow. */
  taskId: string;
  /** Sent as `user_id`. Ignored under a `ProgressProvider` (its client decides). @default 'anonymous' */
  userId?: string;
  /** Sent as `project_id`. Ignored under a `ProgressProvider`. */
  projectId?: string;
  /**
   * WebSocket URL. Ignored under a `ProgressProvider`.
   * @default derived from `location`: `ws(s)://<host>/api/v1/ws`
   */
  wsUrl?: string;
  /** Each progress update, with the seed's payload (`progress`, `current_step`, ...). */
  onProgress?: (progress: ProgressPayload) => void;
  /** The task finished (completed, failed or cancelled), with its latest progress payload. */
  onComplete?: (progress: ProgressPayload) => void;
  /** An error message: a failed step, a failed task, or a refused subscription. */
  onError?: (error: string) => void;
  /** The connection came back; receives the (kept) client id. */
  onReconnect?: (clientId: string) => void;
  /** Show the events received so far under the bar. @default false */
  showHistory?: boolean;
  /** Reconnect after a drop. Ignored under a `ProgressProvider`. @default true */
  autoReconnect?: boolean;
  /** Attempts before giving up. Ignored under a `ProgressProvider`. @default 5 */
  maxReconnectAttempts?: number;
  /** Extra class name on the root element. */
  className?: string;
}

const STATUS_LABEL: Record<string, string> = {
  pending: 'Pending',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** The progress bar of one task. Style it with `realtime-progress/react/styles.css` or your own CSS. */
export function RealtimeProgressTracker(props: RealtimeProgressTrackerProps): ReactNode {
  const shared = useProgressClient();
  const own = useOwnClient(shared === null, props);
  const client = shared ?? own;
  const latestProps = useRef(props);
  latestProps.current = props;
  const view = useTaskProgress(props.taskId, {
    client,
    onProgress: (event) => latestProps.current.onProgress?.(event.payload),
    onComplete: (event) => {
      const latest = event.state.latest;
      if (latest !== undefined) latestProps.current.onComplete?.(latest);
    },
    onError: (event) =>
      latestProps.current.onError?.(event.source === 'task' ? event.payload.error : event.message),
    onReconnect: (event) => latestProps.current.onReconnect?.(event.clientId),
  });
  useEffect(() => {
    const onClosed = (event: { willReconnect: boolean; reason: string }) => {
      if (!event.willReconnect)
        latestProps.current.onError?.(`连接错误: ${event.reason || 'connection closed'}`);
    };
    client?.on('disconnected', onClosed);
    return () => void client?.off('disconnected', onClosed);
  }, [client]);

  const {
    progress,
    status,
    currentStep,
    completedSteps,
    totalSteps,
    message,
    error,
    history,
    connectionState,
  } = view;
  const statusLabel = status === undefined ? 'Waiting' : (STATUS_LABEL[status] ?? status);
  return (
    <div
      className={`rp-tracker${props.className === undefined ? '' : ` ${props.className}`}`}
      data-status={status ?? 'unknown'}
      data-connection={connectionState}
    >
      <div className="rp-tracker__header">
        <span className="rp-tracker__step">{currentStep || 'Waiting for progress…'}</span>
        <span className="rp-tracker__status" role="status" aria-live="polite">
          {statusLabel}
        </span>
      </div>
      <div
        className="rp-tracker__bar"
        role="progressbar"
        aria-label={`Progress of ${props.taskId}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={progress}
      >
        <div className="rp-tracker__fill" style={{ width: `${progress}%` }} />
      </div>
      <div className="rp-tracker__meta">
        <span className="rp-tracker__percent">{progress}%</span>
        {totalSteps > 0 && (
          <span className="rp-tracker__steps">
            {completedSteps}/{totalSteps}
          </span>
        )}
        {message !== '' && <span className="rp-tracker__message">{message}</span>}
        {connectionState === 'reconnecting' && <span className="rp-tracker__connection">Reconnecting…</span>}
      </div>
      {error !== undefined && (
        <div className="rp-tracker__error" role="alert">
          {error}
        </div>
      )}
      {props.showHistory === true && (
        <ol className="rp-tracker__history">
          {history.map((item) => (
            <li key={item.seq} className="rp-tracker__history-item" data-type={item.type}>
              <span className="rp-tracker__history-seq">#{item.seq}</span>{' '}
              {item.type === 'progress' ? `${item.progress}%` : (item.status ?? item.type)} {item.message}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/** A client of the component's own when there is no provider; created after mount (never during a server render). */
function useOwnClient(wanted: boolean, props: RealtimeProgressTrackerProps): ProgressClient | null {
  const [client, setClient] = useState<ProgressClient | null>(null);
  const { wsUrl, userId = 'anonymous', projectId, autoReconnect = true, maxReconnectAttempts = 5 } = props;
  useEffect(() => {
    if (!wanted) return;
    const url = wsUrl ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws`;
    const created = new ProgressClient({
      url,
      userId,
      ...(projectId === undefined ? {} : { projectId }),
      autoReconnect,
      maxReconnectAttempts,
    });
    setClient(created);
    return () => {
      created.close();
      setClient(null);
    };
  }, [wanted, wsUrl, userId, projectId, autoReconnect, maxReconnectAttempts]);
  return client;
}
