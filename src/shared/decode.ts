/**
 * The server's decoder for client frames: validates with zod (the common subscribe and
 * unsubscribe by hand), never throws, and names the problem with an error code so the server
 * can answer with a coded `error` message.
 */
import type { ErrorCode } from './codes.js';
import { parseFrame } from './frames.js';
import {
  type ClientMessage,
  isPlainTaskId,
  PingMessageSchema,
  SubscribeMessageSchema,
  TaskIdSchema,
  UnsubscribeMessageSchema,
} from './protocol.js';

export type DecodedClientMessage =
  | { readonly ok: true; readonly message: ClientMessage }
  | { readonly ok: false; readonly code: ErrorCode; readonly error: string; readonly taskId: string };

/** Decodes one client frame (one message, or several separated by `\n`). Never throws. */
export function decodeClientFrame(data: string): DecodedClientMessage[] {
  const parsed = parseFrame(data);
  // A frame of blank lines holds no message, yet must be answered (and rate-limited) like any other.
  if (parsed.length === 0) return [failure('BAD_JSON', 'Frame holds no JSON message.')];
  return parsed.map((value) =>
    value === undefined ? failure('BAD_JSON', 'Frame is not valid JSON.') : decodeClientValue(value.value),
  );
}

/** Validates one parsed JSON value as a client message. Never throws. */
export function decodeClientValue(value: unknown): DecodedClientMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return failure('BAD_MESSAGE', 'A message must be a JSON object with "action" or "type".');
  }
  const record = value as Record<string, unknown>;
  const taskId = typeof record.task_id === 'string' ? record.task_id.slice(0, 100) : '';
  if ('action' in record) {
    if (record.action !== 'subscribe' && record.action !== 'unsubscribe') {
      return failure(
        'UNKNOWN_ACTION',
        `Unknown action ${describe(record.action)}; use "subscribe" or "unsubscribe".`,
        taskId,
      );
    }
    const plain = plainAction(record);
    if (plain !== undefined) return { ok: true, message: plain };
    if (!TaskIdSchema.safeParse(record.task_id).success) {
      return failure('INVALID_TASK_ID', 'task_id must be a string of 1 to 100 characters.', taskId);
    }
    const schema = record.action === 'subscribe' ? SubscribeMessageSchema : UnsubscribeMessageSchema;
    const result = schema.safeParse(record);
    if (!result.success) {
      return failure('BAD_MESSAGE', 'since must be a non-negative integer sequence number.', taskId);
    }
    return { ok: true, message: result.data };
  }
  if ('type' in record) {
    const result = PingMessageSchema.safeParse(record);
    if (!result.success) {
      return failure(
        'UNKNOWN_ACTION',
        `Unknown message type ${describe(record.type)}; clients send only "ping".`,
        taskId,
      );
    }
    return { ok: true, message: result.data };
  }
  return failure(
    'BAD_MESSAGE',
    'A message must have "action" (subscribe, unsubscribe) or "type" (ping).',
    taskId,
  );
}

/**
 * The subscribe or unsubscribe nearly every client sends (a short task id, no `since` or a
 * valid one), accepted without zod: a client's first subscribe is part of every connection's
 * setup. `undefined` for anything else, which zod then decides and words.
 */
function plainAction(record: Record<string, unknown>): ClientMessage | undefined {
  const { action, task_id: taskId } = record;
  if (!isPlainTaskId(taskId)) return undefined;
  if (action === 'unsubscribe') return { action, task_id: taskId };
  if (action !== 'subscribe') return undefined;
  const { since } = record;
  if (since === undefined) return 'since' in record ? undefined : { action, task_id: taskId };
  return typeof since === 'number' && Number.isSafeInteger(since) && since >= 0
    ? { action, task_id: taskId, since }
    : undefined;
}

function failure(code: ErrorCode, error: string, taskId = ''): DecodedClientMessage {
  return { ok: false, code, error, taskId };
}

/** A short, safe rendering of a client-supplied value for an error message. */
function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
  return text;
}
