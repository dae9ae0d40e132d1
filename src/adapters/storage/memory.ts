/**
 * The default storage: everything in this process's memory, bounded. For one process;
 * several processes need a shared store (`createSqlStorage`).
 */
import { applyTaskEvent } from './task-events.js';
import {
  type AppendResult,
  type CleanupResult,
  type ConnectionRecord,
  DEFAULT_RETENTION,
  type HistoryQuery,
  type NewTaskEvent,
  type RetentionOptions,
  type SessionRecord,
  type StorageAdapter,
  type StoredTaskEvent,
  type TaskSnapshot,
  type TaskStats,
} from './types.js';

export interface MemoryStorageOptions {
  /** History retention; see {@link RetentionOptions} for defaults. */
  retention?: RetentionOptions;
  /**
   * Tasks kept. Past it, the least recently updated task is forgotten entirely (snapshot,
   * history and `seq` counter).
   * @default 10_000
   */
  maxTasks?: number;
  /**
   * Connection audit records kept; the oldest are dropped first.
   * @default 10_000
   */
  maxConnectionRecords?: number;
  /**
   * Resumable sessions kept; the least recently saved are dropped first.
   * @default 100_000
   */
  maxSessions?: number;
}

interface TaskEntry {
  snapshot: TaskSnapshot;
  events: StoredTaskEvent[];
}

/**
 * Creates the in-memory storage adapter (the default of `createProgressServer`).
 * @example
 * const server = createProgressServer(httpServer, createMemoryStorage({ retention: { maxEventsPerTask: 500 } }));
 */
export function createMemoryStorage(options: MemoryStorageOptions = {}): StorageAdapter {
  const { maxEventsPerTask, ttlMs } = { ...DEFAULT_RETENTION, ...options.retention };
  const maxTasks = options.maxTasks ?? 10_000;
  const maxConnectionRecords = options.maxConnectionRecords ?? 10_000;
  const maxSessions = options.maxSessions ?? 100_000;
  // Maps iterate in insertion order; re-inserting on update makes the first key the least recent.
  const tasks = new Map<string, TaskEntry>();
  const sessions = new Map<string, SessionRecord>();
  const connections = new Map<string, ConnectionRecord>();

  const touch = <K, V>(map: Map<K, V>, key: K, value: V, max: number): void => {
    map.delete(key);
    map.set(key, value);
    if (map.size > max) map.delete(map.keys().next().value as K);
  };

  const append = (event: NewTaskEvent): AppendResult => {
    const entry = tasks.get(event.taskId);
    const applied = applyTaskEvent(entry?.snapshot ?? null, event);
    if (!applied.ok) return applied;
    if (entry === undefined) {
      touch(tasks, event.taskId, { snapshot: applied.snapshot, events: [applied.event] }, maxTasks);
      return { ok: true, event: applied.event };
    }
    entry.snapshot = applied.snapshot;
    const { events } = entry;
    events.push(applied.event);
    if (events.length > maxEventsPerTask) events.splice(0, events.length - maxEventsPerTask);
    touch(tasks, event.taskId, entry, maxTasks);
    return { ok: true, event: applied.event };
  };

  return {
    name: 'memory',
    async appendEvents(events) {
      return events.map(append);
    },
    async getSnapshot(taskId) {
      return tasks.get(taskId)?.snapshot ?? null;
    },
    async getHistory(taskId, query: HistoryQuery) {
      const events = tasks.get(taskId)?.events ?? [];
      if (query.afterSeq === undefined) return events.slice(Math.max(0, events.length - query.limit));
      const after = query.afterSeq;
      const start = events.findIndex((event) => event.seq > after);
      return start === -1 ? [] : events.slice(start, start + query.limit);
    },
    async clearHistory(taskId) {
      const entry = tasks.get(taskId);
      if (entry === undefined) return 0;
      const deleted = entry.events.length;
      entry.events = [];
      return deleted;
    },
    async getStats(): Promise<TaskStats> {
      let activeTasks = 0;
      let completedTasks = 0;
      let failedTasks = 0;
      for (const { snapshot } of tasks.values()) {
        const status = snapshot.state.status;
        if (status === 'pending' || status === 'running') activeTasks++;
        else if (status === 'completed') completedTasks++;
        else if (status === 'failed') failedTasks++;
      }
      return { totalTasks: tasks.size, activeTasks, completedTasks, failedTasks };
    },
    async saveSession(session) {
      touch(sessions, session.clientId, session, maxSessions);
    },
    async getSession(clientId, nowMs) {
      const session = sessions.get(clientId);
      return session !== undefined && session.expiresAtMs > nowMs ? session : null;
    },
    async deleteSession(clientId) {
      sessions.delete(clientId);
    },
    async recordConnection(record) {
      touch(connections, record.clientId, record, maxConnectionRecords);
    },
    async getConnection(clientId) {
      return connections.get(clientId) ?? null;
    },
    async cleanup(nowMs): Promise<CleanupResult> {
      let eventsDeleted = 0;
      let sessionsDeleted = 0;
      if (ttlMs > 0) {
        const cutoff = nowMs - ttlMs;
        for (const entry of tasks.values()) {
          const keepFrom = entry.events.findIndex((event) => event.createdAtMs >= cutoff);
          const drop = keepFrom === -1 ? entry.events.length : keepFrom;
          if (drop > 0) {
            entry.events.splice(0, drop);
            eventsDeleted += drop;
          }
        }
      }
      for (const [clientId, session] of sessions) {
        if (session.expiresAtMs <= nowMs) {
          sessions.delete(clientId);
          sessionsDeleted++;
        }
      }
      return { eventsDeleted, sessionsDeleted };
    },
    async close() {},
  };
}
