/**
 * The publish path: validate, (optionally) throttle, append to storage (which assigns `seq`
 * atomically), serialise the event once, and put it on the bus. A server uses it internally;
 * a queue worker uses it alone through `createProgressPublisher`.
 */
import { createLocalBus } from '../adapters/bus/local.js';
import type { Bus } from '../adapters/bus/types.js';
import type { NewTaskEvent, StorageAdapter } from '../adapters/storage/types.js';
import { isProgressError, ProgressError, StorageError } from '../shared/errors.js';
import { type TaskStatus, TERMINAL_STATUSES } from '../shared/protocol.js';
import { encodeTaskEvent } from './frames.js';
import { silentLogger } from './logger.js';
import type { MetricsRecorder } from './metrics.js';
import type { ThrottleOptions } from './options.js';
import {
  type ErrorReport,
  type ProgressUpdate,
  parseErrorReport,
  parseProgressUpdate,
  parseStatus,
  parseStatusDetails,
  parseTaskId,
  type StatusDetails,
} from './publish-input.js';
import { createProgressThrottle, type PublishReceipt } from './throttle.js';
import type { Logger } from './types.js';

export type { PublishReceipt };

export interface ProgressPublisherOptions {
  /** Where events are stored and given their `seq`. Shared with the servers that deliver them. */
  storage: StorageAdapter;
  /** How events reach the servers' subscribers. @default createLocalBus() (this process only) */
  bus?: Bus;
  throttle?: ThrottleOptions;
  /** @default silent */
  logger?: Logger;
}

/** Publishes task events; `createProgressServer` exposes the same three methods. */
export interface ProgressPublisher {
  /**
   * Publishes a progress update. Resolves once the event is stored.
   * @throws {ProgressValidationError} `INVALID_TASK_ID` or `VALIDATION_FAILED` for bad input.
   * @throws {ProgressError} `TASK_FINISHED` when the task is completed, failed or cancelled.
   * @throws {StorageError} `STORAGE_UNAVAILABLE` when the storage failed.
   */
  publish(taskId: string, update: ProgressUpdate): Promise<PublishReceipt>;
  /**
   * Changes a task's status; `pending` or `running` reopens a finished task. Any throttled
   * progress of the task is written first.
   */
  setStatus(taskId: string, status: TaskStatus, details?: StatusDetails): Promise<PublishReceipt>;
  /** Reports a step's failure as an `error` event (the task's status is unchanged). */
  reportError(taskId: string, report: ErrorReport): Promise<PublishReceipt>;
  /** Writes throttled updates; later calls reject with `CLOSED`. Does not close storage or bus. */
  close(): Promise<void>;
}

/**
 * Creates a publisher for a process without a WebSocket server (a queue worker), sharing
 * storage and bus with the servers.
 * @example
 * const publisher = createProgressPublisher({ storage: createSqlStorage({ db }), bus: createRedisBus({ publisher, subscriber }) });
 * await publisher.publish('task-1', { progress: 40, currentStep: 'transcode' });
 */
export function createProgressPublisher(options: ProgressPublisherOptions): ProgressPublisher {
  return buildPublisher(options, undefined);
}

/** The publisher, optionally recording storage latency and publish counts (the server's metrics). */
export function buildPublisher(
  options: ProgressPublisherOptions,
  metrics: MetricsRecorder | undefined,
): ProgressPublisher {
  const { storage } = options;
  const bus = options.bus ?? createLocalBus();
  const logger = options.logger ?? silentLogger;
  const now = Date.now;
  let closed = false;

  const write = async (event: NewTaskEvent): Promise<PublishReceipt> => {
    let results: Awaited<ReturnType<StorageAdapter['appendEvents']>>;
    const startedAt = performance.now();
    try {
      results = await storage.appendEvents([event]);
      metrics?.storageWriteLatency.observe(performance.now() - startedAt);
    } catch (error) {
      if (isProgressError(error)) throw error;
      throw new StorageError(
        `Storage "${storage.name}" failed to append an event of task "${event.taskId}".`,
        {
          cause: error,
        },
      );
    }
    const result = results[0];
    if (result === undefined)
      throw new StorageError(`Storage "${storage.name}" returned no result for an append.`);
    if (!result.ok) throw new ProgressError(result.code, result.message);
    const stored = result.event;
    try {
      if (metrics !== undefined) metrics.eventsPublished++;
      await bus.publish({
        taskId: stored.taskId,
        seq: stored.seq,
        type: stored.type,
        frame: encodeTaskEvent(stored),
        publishedAtMs: Date.now(),
      });
    } catch (error) {
      // The event is stored: subscribers recover it from storage by seq (gap repair, resume).
      logger.warn(
        { err: error, taskId: stored.taskId, seq: stored.seq },
        'bus publish failed; event is stored',
      );
      throw new ProgressError(
        'STORAGE_UNAVAILABLE',
        `Event ${stored.seq} of task "${stored.taskId}" was stored but the bus failed to deliver it live.`,
        { cause: error },
      );
    }
    return { taskId: stored.taskId, seq: stored.seq, coalesced: false };
  };

  const intervalMs = options.throttle?.progressIntervalMs ?? 0;
  const throttle =
    intervalMs > 0
      ? createProgressThrottle(
          intervalMs,
          (taskId, data) => write({ taskId, type: 'progress', timestampMs: now(), data }),
          now,
        )
      : undefined;

  const assertOpen = (): void => {
    if (closed) throw new ProgressError('CLOSED', 'The publisher is closed; create a new one to publish.');
  };

  return {
    async publish(taskId, update) {
      assertOpen();
      const id = parseTaskId(taskId);
      const data = parseProgressUpdate(update);
      if (throttle !== undefined) return throttle.progress(id, data);
      return write({ taskId: id, type: 'progress', timestampMs: now(), data });
    },
    async setStatus(taskId, status, details) {
      assertOpen();
      const id = parseTaskId(taskId);
      const data = { status: parseStatus(status), ...parseStatusDetails(details) };
      await throttle?.flush(id);
      const receipt = await write({ taskId: id, type: 'status', timestampMs: now(), data });
      if (TERMINAL_STATUSES.has(data.status)) throttle?.forget(id);
      return receipt;
    },
    async reportError(taskId, report) {
      assertOpen();
      const id = parseTaskId(taskId);
      const data = parseErrorReport(report);
      await throttle?.flush(id);
      return write({ taskId: id, type: 'error', timestampMs: now(), data });
    },
    async close() {
      closed = true;
      await throttle?.flushAll();
    },
  };
}
