/**
 * Validation of what a REST request carries in its path and query. Each check throws an
 * {@link HttpError} that the core turns into a 400 `{ error, code }` answer.
 */
import type { ErrorCode } from '../../shared/codes.js';
import { LIMITS, TaskIdSchema } from '../../shared/protocol.js';
import { quote } from './responses.js';

/** Most history events one request may ask for (`limit` above it answers 400). */
export const MAX_HISTORY_LIMIT = 1_000;

/**
 * A client mistake found while handling a request. Deliberately not a `ProgressError`: the
 * core maps `ProgressError`s thrown by storage or the hub differently (5xx details are hidden).
 */
export class HttpError extends Error {
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.headers = headers;
  }
}

/**
 * Decodes one raw path segment into a task id and checks it like the socket does (1 to 100
 * characters). A `/` inside an id must arrive encoded as `%2F`, so it never splits the path.
 */
export function decodeTaskId(rawSegment: string): string {
  let taskId: string;
  try {
    taskId = decodeURIComponent(rawSegment);
  } catch {
    throw new HttpError('INVALID_TASK_ID', `Task id ${quote(rawSegment)} is not valid percent-encoding.`);
  }
  if (!TaskIdSchema.safeParse(taskId).success) {
    throw new HttpError(
      'INVALID_TASK_ID',
      `Task id must be 1 to ${LIMITS.taskIdChars} characters, got ${taskId.length}.`,
    );
  }
  return taskId;
}

/**
 * Reads a non-negative integer query parameter, `undefined` when absent. Anything that is not
 * plain decimal digits (`1.5`, `-1`, `1e3`, empty) or exceeds `max` answers 400.
 */
export function readCount(url: URL, name: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  const value = /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value > max) {
    throw new HttpError(
      'INVALID_PARAMETER',
      `${name} must be an integer from 0 to ${max}, got ${quote(raw)}.`,
    );
  }
  return value;
}

/** Reads a required, non-empty query parameter such as `client_id`. */
export function readRequired(url: URL, name: string, hint: string): string {
  const value = url.searchParams.get(name);
  if (value === null || value === '') {
    throw new HttpError('INVALID_PARAMETER', `${name} is required: ${hint}.`);
  }
  return value;
}
