/**
 * Group commit: callers submit small lists of items; they are written together, one write per
 * batch, and each caller's promise settles when its batch does. One batch is in flight at a
 * time, so batches commit in submission order and a task's events keep their call order.
 */

export interface GroupCommitOptions {
  /** Most items per write (a single larger submission is written whole). */
  readonly maxItems: number;
  /** How long the first item waits for company when nothing is in flight. */
  readonly maxDelayMs: number;
}

export interface GroupCommit<T, R> {
  /** Queues `items`; resolves with their results, in order, once their batch is written. */
  submit(items: readonly T[]): Promise<R[]>;
  /** Resolves when everything submitted so far has been written (or has failed). */
  flush(): Promise<void>;
}

interface Pending<T, R> {
  readonly items: readonly T[];
  readonly resolve: (results: R[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * @param write Writes one batch and returns one result per item, in order. A throw rejects
 *   every caller of that batch with `toError(thrown)`; later batches are still attempted.
 */
export function createGroupCommit<T, R>(
  write: (items: T[]) => Promise<R[]>,
  toError: (error: unknown, items: number) => unknown,
  options: GroupCommitOptions,
): GroupCommit<T, R> {
  let queue: Pending<T, R>[] = [];
  let queuedItems = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let draining: Promise<void> | undefined;

  const take = (): Pending<T, R>[] => {
    let count = 0;
    let end = 0;
    while (end < queue.length) {
      const size = queue[end]!.items.length;
      if (end > 0 && count + size > options.maxItems) break;
      count += size;
      end++;
    }
    const batch = queue.slice(0, end);
    queue = queue.slice(end);
    queuedItems -= count;
    return batch;
  };

  const writeBatch = async (batch: Pending<T, R>[]): Promise<void> => {
    const items = batch.flatMap((pending) => pending.items);
    try {
      const results = await write(items);
      let offset = 0;
      for (const pending of batch) {
        pending.resolve(results.slice(offset, offset + pending.items.length));
        offset += pending.items.length;
      }
    } catch (error) {
      const rejection = toError(error, items.length);
      for (const pending of batch) pending.reject(rejection);
    }
  };

  const run = async (): Promise<void> => {
    // Calls that queued while a batch committed have already waited: write them right away.
    while (queue.length > 0) await writeBatch(take());
    draining = undefined;
  };

  const drain = (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    // `run` only settles after an await when the queue is non-empty, so the assignment below
    // always happens before `run` clears it.
    if (draining === undefined && queue.length > 0) draining = run();
    return draining ?? Promise.resolve();
  };

  const schedule = (): void => {
    if (draining !== undefined) return;
    if (queuedItems >= options.maxItems) void drain();
    else timer ??= setTimeout(drain, options.maxDelayMs);
  };

  return {
    submit(items) {
      if (items.length === 0) return Promise.resolve([]);
      return new Promise<R[]>((resolve, reject) => {
        queue.push({ items, resolve, reject });
        queuedItems += items.length;
        schedule();
      });
    },
    async flush() {
      while (queue.length > 0 || draining !== undefined) await drain();
    },
  };
}
