/**
 * BullMQ -> realtime-progress: a worker's `job.updateProgress(...)` becomes a `progress`
 * event, its completion a `completed` status, its final failure a `failed` status (a failed
 * attempt that will be retried is an `error` event, and the retry's start reopens the task
 * as `running`). The worker keeps doing its job; this only listens to its events.
 */
import type { Job, Worker } from 'bullmq';
// In your app: import type { ... } from 'realtime-progress/server';
import type { ProgressPublisher, ProgressUpdate } from '../../src/server/index.js';

export interface BridgeOptions {
  /**
   * The task id of a job, as clients subscribe to it. BullMQ ids are only unique per queue.
   * @default `${job.queueName}-${job.id}`
   */
  taskIdOf?: (job: Job) => string;
  /** Called when a publish fails (storage down, bad input). @default console.error */
  onError?: (error: unknown, job: Job) => void;
}

export interface Bridge {
  /** Resolves once everything published so far is stored. */
  idle(): Promise<void>;
  /** Stops listening to the worker. */
  detach(): void;
}

/**
 * `updateProgress(42)` publishes `{ progress: 42 }`; an object may carry `progress`,
 * `currentStep`, `totalSteps`, `completedSteps`, `message` and `metadata`.
 */
export function toProgressUpdate(value: unknown): ProgressUpdate {
  if (typeof value === 'number') return { progress: clampPercent(value) };
  if (typeof value !== 'object' || value === null) return { progress: 0, message: String(value) };
  const fields = value as Record<string, unknown>;
  const update: ProgressUpdate = { progress: clampPercent(Number(fields.progress ?? 0)) };
  if (typeof fields.currentStep === 'string') update.currentStep = fields.currentStep;
  if (typeof fields.totalSteps === 'number') update.totalSteps = fields.totalSteps;
  if (typeof fields.completedSteps === 'number') update.completedSteps = fields.completedSteps;
  if (typeof fields.message === 'string') update.message = fields.message;
  if (typeof fields.metadata === 'object' && fields.metadata !== null)
    update.metadata = fields.metadata as Record<string, unknown>;
  return update;
}

export function bridgeWorker(
  worker: Worker,
  publisher: ProgressPublisher,
  options: BridgeOptions = {},
): Bridge {
  const taskIdOf = options.taskIdOf ?? ((job: Job) => `${job.queueName}-${job.id}`);
  const onError = options.onError ?? ((error: unknown) => console.error('progress publish failed:', error));
  // Worker events fire synchronously while publishing is async: one chain per task keeps a
  // job's progress before its completion.
  const chains = new Map<string, Promise<void>>();
  const enqueue = (job: Job, publish: (taskId: string) => Promise<unknown>): void => {
    const taskId = taskIdOf(job);
    const previous = chains.get(taskId) ?? Promise.resolve();
    const next = previous
      .then(() => publish(taskId))
      .then(
        () => {},
        (error: unknown) => onError(error, job),
      );
    chains.set(taskId, next);
    void next.then(() => {
      if (chains.get(taskId) === next) chains.delete(taskId);
    });
  };

  const onActive = (job: Job): void => enqueue(job, (taskId) => publisher.setStatus(taskId, 'running'));
  const onProgress = (job: Job, progress: unknown): void =>
    enqueue(job, (taskId) => publisher.publish(taskId, toProgressUpdate(progress)));
  const onCompleted = (job: Job, result: unknown): void =>
    enqueue(job, (taskId) => publisher.setStatus(taskId, 'completed', { result: result ?? null }));
  const onFailed = (job: Job | undefined, error: Error): void => {
    if (job === undefined) return; // a worker-level failure, not a job's
    const retried = job.attemptsMade < (job.opts.attempts ?? 1);
    enqueue(job, (taskId) =>
      retried
        ? publisher.reportError(taskId, { stepId: `attempt-${job.attemptsMade}`, error: error.message })
        : publisher.setStatus(taskId, 'failed', { error: error.message }),
    );
  };

  worker.on('active', onActive);
  worker.on('progress', onProgress);
  worker.on('completed', onCompleted);
  worker.on('failed', onFailed);
  return {
    async idle() {
      while (chains.size > 0) await Promise.all(chains.values());
    },
    detach() {
      worker.off('active', onActive);
      worker.off('progress', onProgress);
      worker.off('completed', onCompleted);
      worker.off('failed', onFailed);
    },
  };
}

function clampPercent(value: number): number {
  return Number.isFinite(value) ? Math.min(100, Math.max(0, Math.round(value))) : 0;
}
