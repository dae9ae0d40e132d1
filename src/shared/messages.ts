/**
 * Typed constructors for server messages. The server builds every outgoing message with one
 * of these and serialises it once (a broadcast is serialised once, not once per recipient).
 */
import type {
  ClientErrorMessage,
  ConnectedMessage,
  PongMessage,
  ReconnectedMessage,
  SubscribedMessage,
  UnsubscribedMessage,
} from './protocol.js';

/** The furthest a `Date` reaches from 1970, either way (100,000,000 days). */
const MAX_DATE_MS = 8.64e15;

let lastTimestamp = { ms: Number.NaN, text: '' };
/** `new Date(second * 1000).toISOString()` without its `mmmZ`: the part shared by a second's timestamps. */
let secondPrefix = { second: Number.NaN, text: '' };

/**
 * RFC 3339 timestamp for `nowMs`, exactly `new Date(nowMs).toISOString()`. Events published in
 * the same millisecond share the last string, and `Date` formats one string per second: the
 * milliseconds are appended by hand. On a quiet server every event lands in a new millisecond,
 * and a first `toISOString()` after an idle spell costs tens of microseconds of the event's
 * latency.
 */
export function rfc3339(nowMs: number): string {
  if (nowMs === lastTimestamp.ms) return lastTimestamp.text;
  // Fractional and out-of-range times keep Date's own rounding and errors.
  if (!Number.isInteger(nowMs) || Math.abs(nowMs) > MAX_DATE_MS) return new Date(nowMs).toISOString();
  const second = Math.floor(nowMs / 1000);
  if (second !== secondPrefix.second)
    secondPrefix = { second, text: new Date(second * 1000).toISOString().slice(0, -4) };
  const millis = nowMs - second * 1000;
  const text = `${secondPrefix.text}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
  lastTimestamp = { ms: nowMs, text };
  return text;
}

export function connectedMessage(clientId: string, nowMs: number): ConnectedMessage {
  return {
    type: 'connected',
    task_id: '',
    payload: { client_id: clientId, message: 'WebSocket连接成功', timestamp: rfc3339(nowMs) },
  };
}

export function reconnectedMessage(
  clientId: string,
  oldClientId: string,
  subscribed: readonly string[],
  nowMs: number,
  failureReason?: string,
): ReconnectedMessage {
  const payload: ReconnectedMessage['payload'] = {
    client_id: clientId,
    old_client_id: oldClientId,
    message:
      failureReason === undefined
        ? 'WebSocket重连成功'
        : `Session not resumed (${failureReason}); subscribe again`,
    subscribed: Object.fromEntries(subscribed.map((taskId) => [taskId, true])),
    timestamp: rfc3339(nowMs),
    resumed: failureReason === undefined,
  };
  if (failureReason !== undefined) payload.reason = failureReason;
  return { type: 'reconnected', task_id: '', payload };
}

export function subscribedMessage(
  taskId: string,
  topics: readonly string[],
  recovered?: boolean,
): SubscribedMessage {
  const payload: SubscribedMessage['payload'] = { topics: [...topics] };
  if (recovered !== undefined) payload.recovered = recovered;
  return { type: 'subscribed', task_id: taskId, payload };
}

export function unsubscribedMessage(taskId: string, topics: readonly string[]): UnsubscribedMessage {
  return { type: 'unsubscribed', task_id: taskId, payload: { topics: [...topics] } };
}

export function pongMessage(nowMs: number): PongMessage {
  return { type: 'pong', task_id: '', payload: { timestamp: Math.floor(nowMs / 1000) } };
}

export function clientErrorMessage(
  taskId: string,
  code: string,
  error: string,
  nowMs: number,
): ClientErrorMessage {
  return { type: 'error', task_id: taskId, payload: { code, error, timestamp: rfc3339(nowMs) } };
}
