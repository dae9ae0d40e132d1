/**
 * @module realtime-progress/client
 * `ProgressClient`: live task progress over WebSocket for browsers, Node and workers, with
 * reconnects, heartbeat, session resume and gapless per-task delivery. Browser-safe: no Node
 * built-in is imported (in Node, `ws` is used through isomorphic-ws).
 */

export { reconnectDelayMs } from './backoff.js';
export type { ConnectionState } from './connection.js';
export type { ClientError } from './errors.js';
export type * from './events.js';
export type { HistoryEntry, HistoryOptions, HistoryResult } from './history.js';
export {
  type BackoffOptions,
  DEFAULT_CLIENT_OPTIONS,
  type ProgressClientOptions,
  type QueryParams,
  type WebSocketConstructor,
  type WebSocketLike,
} from './options.js';
export type { PersistStorage } from './persistence.js';
export { ProgressClient, type SubscribeOptions, type TaskSubscription } from './progress-client.js';
export type { TaskState, TerminalStatus } from './task-state.js';
