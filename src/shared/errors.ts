import { ERROR_CODE_INFO, type ErrorCode } from './codes.js';

const BRAND = Symbol.for('realtime-progress.error');

/**
 * Base class of every error the SDK throws. `code` is one of {@link ErrorCode}; `cause`
 * holds the underlying error when there is one.
 */
export class ProgressError extends Error {
  readonly code: ErrorCode;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProgressError';
    this.code = code;
  }

  /** HTTP status for this error (from the code table). */
  get httpStatus(): number {
    return ERROR_CODE_INFO[this.code].httpStatus;
  }

  /** Whether retrying the same operation later may succeed. */
  get retryable(): boolean {
    return ERROR_CODE_INFO[this.code].retryable;
  }
}

/** Input failed validation. `issues` lists each problem as `path: message`. */
export class ProgressValidationError extends ProgressError {
  readonly issues: readonly string[];

  constructor(
    code: ErrorCode,
    message: string,
    issues: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'ProgressValidationError';
    this.issues = issues;
  }
}

/** A storage adapter failed; the operation may be retried once the backend is back. */
export class StorageError extends ProgressError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORAGE_UNAVAILABLE', message, options);
    this.name = 'StorageError';
  }
}

/** A client-side connection failure (closed, refused, timed out). */
export class ConnectionError extends ProgressError {
  /** The WebSocket close code, when the failure was a close. */
  readonly closeCode: number | undefined;

  constructor(code: ErrorCode, message: string, closeCode?: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ConnectionError';
    this.closeCode = closeCode;
  }
}

/**
 * True for any error thrown by this SDK, even from another copy of the package
 * (checks a global brand, not only `instanceof`).
 */
export function isProgressError(error: unknown): error is ProgressError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}
