/**
 * Refuses values that do not fit their columns before they reach the database. The server
 * validates publisher input too, but an adapter must never truncate silently, and one bad
 * event must not fail a whole group-committed batch of other callers' events.
 */
import { ProgressValidationError } from '../../../shared/errors.js';
import { TASK_STATUSES } from '../../../shared/protocol.js';
import type { ConnectionRecord, NewTaskEvent, SessionRecord } from '../types.js';

const INT32_MAX = 2_147_483_647;
const STATUSES: ReadonlySet<string> = new Set(TASK_STATUSES);
// With the `u` flag a well-formed pair is one code point, so only lone surrogates match.
const LONE_SURROGATE = /\p{Cs}/u;

/** Collects problems as `path: sentence`; throws them all at once. */
class Issues {
  readonly list: string[] = [];

  /**
   * A string for a `varchar(max)` (or text) column. Lengths count code points, as PostgreSQL
   * and MySQL do. NUL and lone surrogates are refused: PostgreSQL cannot store NUL, and a lone
   * surrogate would come back as U+FFFD, so the value would not read back as written.
   */
  text(path: string, value: unknown, max?: number): void {
    if (typeof value !== 'string') {
      this.list.push(`${path}: expected a string, got ${typeof value}`);
      return;
    }
    if (max !== undefined) {
      const length = codePoints(value, max);
      if (length > max) this.list.push(`${path}: ${length}+ characters; the column holds at most ${max}`);
    }
    if (value.includes('\u0000'))
      this.list.push(`${path}: contains a NUL character, which SQL text cannot hold`);
    if (LONE_SURROGATE.test(value)) this.list.push(`${path}: contains a lone UTF-16 surrogate`);
  }

  integer(path: string, value: unknown, min: number, max: number): void {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.list.push(`${path}: expected an integer from ${min} to ${max}, got ${String(value)}`);
    }
  }

  time(path: string, value: unknown): void {
    this.integer(path, value, 0, Number.MAX_SAFE_INTEGER);
  }

  /** A value stored as JSON: it must serialise, and fit the column when the column is bounded. */
  json(path: string, value: unknown, maxBytes: number | undefined): void {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      this.list.push(`${path}: cannot be serialised as JSON (${(error as Error).message})`);
      return;
    }
    if (maxBytes !== undefined && text !== undefined && Buffer.byteLength(text) > maxBytes) {
      this.list.push(
        `${path}: ${Buffer.byteLength(text)} bytes of JSON; the column holds at most ${maxBytes}`,
      );
    }
  }

  throwIfAny(what: string): void {
    if (this.list.length === 0) return;
    throw new ProgressValidationError(
      'VALIDATION_FAILED',
      `${what} was refused before reaching the database: ${this.list.join('; ')}. Shorten or fix these values.`,
      this.list,
    );
  }
}

/** Counts code points, stopping early past `max` (the count is then a lower bound). */
function codePoints(value: string, max: number): number {
  if (value.length <= max) return value.length;
  let count = 0;
  for (const _ of value) if (++count > max) break;
  return count;
}

export function validateEvents(events: readonly NewTaskEvent[], jsonBytes: number | undefined): void {
  const issues = new Issues();
  events.forEach((event, index) => {
    const at = `events[${index}]`;
    issues.text(`${at}.taskId`, event.taskId, 100);
    issues.time(`${at}.timestampMs`, event.timestampMs);
    switch (event.type) {
      case 'progress': {
        const { data } = event;
        issues.integer(`${at}.data.progress`, data.progress, -INT32_MAX - 1, INT32_MAX);
        issues.text(`${at}.data.current_step`, data.current_step, 200);
        issues.integer(
          `${at}.data.total_steps`,
          data.total_steps,
          Number.MIN_SAFE_INTEGER,
          Number.MAX_SAFE_INTEGER,
        );
        issues.integer(
          `${at}.data.completed_steps`,
          data.completed_steps,
          Number.MIN_SAFE_INTEGER,
          Number.MAX_SAFE_INTEGER,
        );
        issues.text(`${at}.data.message`, data.message, 500);
        if (data.metadata !== undefined) issues.json(`${at}.data.metadata`, data.metadata, jsonBytes);
        break;
      }
      case 'status': {
        const { data } = event;
        if (!STATUSES.has(data.status))
          issues.list.push(`${at}.data.status: unknown status ${String(data.status)}`);
        issues.text(`${at}.data.error`, data.error);
        // Escaped JSON is never shorter than the text, so this bounds the error column too.
        issues.json(`${at}.data.error`, data.error, jsonBytes);
        issues.json(`${at}.data.result`, data.result, jsonBytes);
        break;
      }
      case 'error':
        issues.json(`${at}.data`, event.data, jsonBytes);
        break;
      default:
        issues.list.push(`${at}.type: unknown event type ${String((event as { type: unknown }).type)}`);
    }
  });
  issues.throwIfAny(events.length === 1 ? 'The event' : `A batch of ${events.length} events`);
}

export function validateSession(session: SessionRecord, jsonBytes: number | undefined): void {
  const issues = new Issues();
  issues.text('clientId', session.clientId, 100);
  issues.text('userId', session.userId, 100);
  issues.text('projectId', session.projectId, 100);
  issues.json('subscriptions', session.subscriptions, jsonBytes);
  issues.time('lastActiveAtMs', session.lastActiveAtMs);
  issues.time('expiresAtMs', session.expiresAtMs);
  issues.throwIfAny(`Session ${JSON.stringify(String(session.clientId).slice(0, 100))}`);
}

export function validateConnection(record: ConnectionRecord): void {
  const issues = new Issues();
  issues.text('clientId', record.clientId, 100);
  issues.text('userId', record.userId, 100);
  issues.text('projectId', record.projectId, 100);
  issues.text('ipAddress', record.ipAddress, 50);
  issues.text('userAgent', record.userAgent, 500);
  issues.time('connectedAtMs', record.connectedAtMs);
  if (record.disconnectedAtMs !== null) issues.time('disconnectedAtMs', record.disconnectedAtMs);
  issues.time('lastActiveAtMs', record.lastActiveAtMs);
  issues.integer('messageCount', record.messageCount, 0, Number.MAX_SAFE_INTEGER);
  issues.throwIfAny(`Connection record ${JSON.stringify(String(record.clientId).slice(0, 100))}`);
}

/** A task or client id used as a lookup key: ids that could never be stored simply match nothing. */
export function isStorableId(id: string): boolean {
  return codePoints(id, 100) <= 100 && !id.includes('\u0000') && !LONE_SURROGATE.test(id);
}
