/**
 * @module realtime-progress/react
 * React 18/19 binding: `ProgressProvider` (one client for the tree), `useTaskProgress`, and
 * the seed's `RealtimeProgressTracker`. Nothing touches `window` at import time; server
 * renders create no socket. Default styles: `realtime-progress/react/styles.css`.
 */
export { ProgressProvider, type ProgressProviderProps, useProgressClient } from './provider.js';
export { RealtimeProgressTracker, type RealtimeProgressTrackerProps } from './realtime-progress-tracker.js';
export type { TaskHistoryItem } from './task-store.js';
export { type TaskProgress, type UseTaskProgressOptions, useTaskProgress } from './use-task-progress.js';
