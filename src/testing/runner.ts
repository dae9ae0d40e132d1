/**
 * The few test-runner functions the conformance suite needs, typed loosely enough that
 * vitest's, jest's and `node:test`'s own functions fit, plus an `expect` fallback on
 * `node:assert` for runners that have none.
 */
import { deepStrictEqual, strictEqual } from 'node:assert';
import type { RetentionOptions, StorageAdapter } from '../adapters/storage/types.js';

/** A test or hook body. */
export type TestBody = () => void | Promise<void>;

/** The two matchers the suite uses. vitest's and jest's `expect` satisfy it. */
export type ExpectLike = (actual: unknown) => {
  /** Deep equality (key order ignored). */
  toEqual(expected: unknown): void;
  /** `Object.is` equality. */
  toBe(expected: unknown): void;
};

/** What the suite takes from your test runner. Pass the runner's own functions. */
export interface ConformanceRunner {
  /** Groups cases (vitest/jest `describe`, `node:test` `describe`). */
  describe: (name: string, body: () => void) => unknown;
  /** Registers one case (`it` or `test`); bodies are async and never take a `done` callback. */
  it: (name: string, body: TestBody) => unknown;
  /** Closes the adapters a case opened. */
  afterEach: (body: TestBody) => unknown;
  /** Accepted so a runner's hooks can be passed as a set; the suite opens adapters per case itself. */
  beforeEach?: (body: TestBody) => unknown;
  /**
   * Assertions. `node:test` has no `expect`: leave it out and failures are reported through
   * `node:assert` (`deepStrictEqual`, `strictEqual`).
   * @default an `expect` on `node:assert`
   */
  expect?: ExpectLike;
}

/** What the suite asks of `createAdapter` for each case. */
export interface ConformanceAdapterOptions {
  /**
   * Retention the new adapter must apply. Always complete: most cases pass the defaults
   * (`DEFAULT_RETENTION`), the retention cases pass small or zero values.
   */
  readonly retention: Required<RetentionOptions>;
}

/**
 * Returns a new, empty adapter configured with `options`. Called once or more per case; every
 * adapter it returns is closed after the case.
 */
export type CreateAdapter = (options: ConformanceAdapterOptions) => StorageAdapter | Promise<StorageAdapter>;

export const assertExpect: ExpectLike = (actual) => ({
  toEqual: (expected) => deepStrictEqual(actual, expected),
  toBe: (expected) => strictEqual(actual, expected),
});
