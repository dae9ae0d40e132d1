/**
 * Errors the client throws. `isProgressError()` accepts them (same brand, `name` and `code` as
 * the shared `ProgressError`), but they are not instances of that class: its `httpStatus` and
 * `retryable` getters pull the whole error-code table into the browser bundle, past the
 * client's size budget. Branch on `code`.
 */
import type { ErrorCode } from '../shared/codes.js';

/** A client error: an `Error` with a machine-readable `code`. */
export interface ClientError extends Error {
  readonly code: ErrorCode;
}

/** The brand `isProgressError()` checks (see `shared/errors.ts`). */
const BRAND = Symbol.for('realtime-progress.error');

export function clientError(code: ErrorCode, message: string, cause?: unknown): ClientError {
  const error = new Error(message, cause === undefined ? undefined : { cause });
  return Object.assign(error, { name: 'ProgressError', code, [BRAND]: true });
}
