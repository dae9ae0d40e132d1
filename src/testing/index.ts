/**
 * @module realtime-progress/testing
 * The storage conformance suite: every `StorageAdapter` (ours and yours) must pass it. It runs
 * under any test runner: pass that runner's `describe`, `it`, `afterEach` (and `expect`).
 */
import { DEFAULT_RETENTION, type RetentionOptions, type StorageAdapter } from '../adapters/storage/types.js';
import { appendCases } from './cases-append.js';
import { dataCases } from './cases-data.js';
import { retentionCases } from './cases-retention.js';
import { sessionCases } from './cases-sessions.js';
import { taskCases } from './cases-tasks.js';
import { assertExpect, type ConformanceRunner, type CreateAdapter } from './runner.js';

export type {
  ConformanceAdapterOptions,
  ConformanceRunner,
  CreateAdapter,
  ExpectLike,
  TestBody,
} from './runner.js';

/**
 * Registers the conformance cases for one adapter under `describe(name)`.
 *
 * Each case calls `createAdapter({ retention })` for a new, empty adapter (some cases more than
 * once) and closes every adapter it got in `afterEach`. Most cases pass `DEFAULT_RETENTION`;
 * the retention cases pass their own `maxEventsPerTask` / `ttlMs`, which the adapter must apply.
 * Cases use fixed clocks (events from 2024-01-01) and never sleep.
 *
 * @param name Shown as the top-level `describe`.
 * @param createAdapter Returns a new, empty adapter configured with the given options. Adapters
 *   over a shared database should empty their tables here (or use fresh tables each time).
 * @param runner The test runner's functions.
 * @example
 * // vitest (jest is the same with its globals)
 * import { afterEach, describe, expect, it } from 'vitest';
 * import { runStorageConformance } from 'realtime-progress/testing';
 * runStorageConformance('my-adapter', ({ retention }) => createMyStorage({ retention }), {
 *   describe, it, expect, afterEach,
 * });
 * @example
 * // node:test (assertions through node:assert)
 * import { afterEach, describe, it } from 'node:test';
 * runStorageConformance('my-adapter', ({ retention }) => createMyStorage({ retention }), { describe, it, afterEach });
 */
export function runStorageConformance(
  name: string,
  createAdapter: CreateAdapter,
  runner: ConformanceRunner,
): void {
  const { describe, it, afterEach } = runner;
  const expect = runner.expect ?? assertExpect;
  let opened: StorageAdapter[] = [];

  const open = async (retention: RetentionOptions = DEFAULT_RETENTION): Promise<StorageAdapter> => {
    const adapter = await createAdapter({ retention: { ...DEFAULT_RETENTION, ...retention } });
    opened.push(adapter);
    return adapter;
  };

  describe(name, () => {
    afterEach(async () => {
      const adapters = opened;
      opened = [];
      await Promise.all(adapters.map((adapter) => adapter.close()));
    });

    const context = { describe, it, expect, open };
    appendCases(context);
    taskCases(context);
    sessionCases(context);
    retentionCases(context);
    dataCases(context);
  });
}
