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

let lastTimestamp = { ms: Number.NaN, text: '' };

/**
 * RFC 3339 timestamp for `nowMs`. Events published in the same millisecond share the last
 * string (a busy publisher formats one date per millisecond, not one per event).
 */
export function rfc3339(nowMs: number): string {
  if (nowMs !== lastTimestamp.ms) lastTimestamp = { ms: nowMs, text: new Date(nowMs).toISOString() };
  return lastTimestamp.text;
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
