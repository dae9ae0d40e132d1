/**
 * @module realtime-progress/server
 * The Node half: attach to an `http.Server`, publish task events, serve the REST API.
 */
export { createLocalBus } from '../adapters/bus/local.js';
export type { Bus, BusMessage, ClusterPresence, PresenceStats } from '../adapters/bus/types.js';
export { createMemoryStorage, type MemoryStorageOptions } from '../adapters/storage/memory.js';
export { type ApplyResult, applyTaskEvent } from '../adapters/storage/task-events.js';
export * from '../adapters/storage/types.js';
export {
  createProgressServer,
  createPrometheusHandler,
  type ProgressServer,
} from './create-progress-server.js';
export type { LatencySummary, ServerMetrics } from './metrics.js';
export type {
  HeartbeatOptions,
  LimitOptions,
  ProgressServerOptions,
  ThrottleOptions,
} from './options.js';
export { DEFAULT_SERVER_OPTIONS } from './options.js';
export {
  createProgressPublisher,
  type ProgressPublisher,
  type ProgressPublisherOptions,
  type PublishReceipt,
} from './progress-service.js';
export type { ErrorReport, ProgressUpdate, StatusDetails } from './publish-input.js';
export type { Authenticate, Authorize, AuthRequest, ConnectionStats, Identity, Logger } from './types.js';
