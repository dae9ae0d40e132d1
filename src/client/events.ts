/** The events a `ProgressClient` emits, each with one context object. */
import type { ProgressPayload, StatusPayload, TaskErrorPayload } from '../shared/protocol.js';
import type { ConnectionState } from './connection.js';
import type { TaskState, TerminalStatus } from './task-state.js';

/** `state`: every change of the connection state. */
export interface StateChangeEvent {
  readonly from: ConnectionState;
  readonly to: ConnectionState;
  /** Close code behind the change, when a socket closed. */
  readonly code: number | undefined;
  readonly reason: string;
}

/** `connected`: the first connection of this client is established. */
export interface ConnectedEvent {
  readonly clientId: string;
  /** `true` when a persisted session (page reload) was resumed. */
  readonly resumed: boolean;
}

/** `reconnected`: a later connection is established and every subscription re-established. */
export interface ReconnectedEvent {
  readonly clientId: string;
  /** The id the client tried to resume, if any. */
  readonly oldClientId: string | undefined;
  /** `true` when the server kept the session (same id, subscriptions restored server-side). */
  readonly resumed: boolean;
  /** Why the server could not resume (`SESSION_NOT_FOUND`), when it could not. */
  readonly reason: string | undefined;
  /** The tasks followed again, each asked to replay from its last seen `seq`. */
  readonly subscriptions: string[];
}

/** `disconnected`: an open connection was lost (`willReconnect: true`) or the client is closed for good. */
export interface DisconnectedEvent {
  readonly code: number | undefined;
  readonly reason: string;
  readonly willReconnect: boolean;
}

/** `reconnecting`: attempt `attempt` starts after `delayMs`. */
export interface ReconnectingEvent {
  readonly attempt: number;
  readonly delayMs: number;
  /** Close code of the loss that caused it. */
  readonly code: number;
  readonly reason: string;
}

/** `subscribed`: the server acknowledged a subscription. */
export interface SubscribedEvent {
  readonly taskId: string;
  /** Present when the client asked for a replay: `false` means history was trimmed. */
  readonly recovered: boolean | undefined;
}

/** `progress`: a progress event, or with `snapshot: true` the task's latest state (on subscribe, after a partial recovery). */
export interface TaskProgressEvent {
  readonly taskId: string;
  readonly seq: number;
  readonly payload: ProgressPayload;
  readonly snapshot: boolean;
  /** Set when the server folded the progress events `coalescedFrom..seq` into this one (slow consumer). */
  readonly coalescedFrom: number | undefined;
  /** The task's state after this event. */
  readonly state: TaskState;
}

/** `status`: a status change. */
export interface TaskStatusEvent {
  readonly taskId: string;
  readonly seq: number;
  readonly payload: StatusPayload;
  readonly state: TaskState;
}

/** `error` from a task: a step failed (the task's status is unchanged). */
export interface TaskErrorEvent {
  readonly source: 'task';
  readonly taskId: string;
  readonly seq: number;
  readonly payload: TaskErrorPayload;
  readonly state: TaskState;
}

/** `error` from the server about this client's request (`FORBIDDEN`, `TOO_MANY_SUBSCRIPTIONS`, ...). */
export interface ServerErrorEvent {
  readonly source: 'server';
  /** The task the request named, `''` if none. */
  readonly taskId: string;
  readonly code: string;
  readonly message: string;
}

/**
 * `error` from the client itself: the `params` function threw or rejected, so a connection
 * attempt failed. The client retries it after the usual backoff (see `reconnecting`).
 */
export interface ParamsErrorEvent {
  readonly source: 'client';
  /** Always `''`: no task is concerned. */
  readonly taskId: string;
  readonly code: 'PARAMS_FAILED';
  readonly message: string;
  /** What `params` threw. */
  readonly cause: unknown;
}

export type ClientErrorEvent = TaskErrorEvent | ServerErrorEvent | ParamsErrorEvent;

/** `complete`: a task reached `completed`, `failed` or `cancelled`. */
export interface TaskCompleteEvent {
  readonly taskId: string;
  readonly seq: number;
  readonly status: TerminalStatus;
  readonly error: string;
  readonly result: unknown;
  readonly state: TaskState;
}

/** `recovery`: some of a task's events could not be replayed; `state` is the latest state instead. */
export interface TaskRecoveryEvent {
  readonly taskId: string;
  readonly recovered: false;
  readonly seq: number;
  readonly state: TaskState;
}

export interface ProgressClientEvents {
  state: (event: StateChangeEvent) => void;
  connected: (event: ConnectedEvent) => void;
  reconnected: (event: ReconnectedEvent) => void;
  disconnected: (event: DisconnectedEvent) => void;
  reconnecting: (event: ReconnectingEvent) => void;
  subscribed: (event: SubscribedEvent) => void;
  progress: (event: TaskProgressEvent) => void;
  status: (event: TaskStatusEvent) => void;
  error: (event: ClientErrorEvent) => void;
  complete: (event: TaskCompleteEvent) => void;
  recovery: (event: TaskRecoveryEvent) => void;
}
