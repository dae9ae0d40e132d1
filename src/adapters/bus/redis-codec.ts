/**
 * The bus message on the wire: a one-line header, then the frame exactly as the sockets get
 * it. `${origin} ${seq} ${type}\n${frame}`. The task id is the channel's suffix and is not
 * repeated; `origin` lets a process skip its own messages (it delivered them locally already).
 * The frame is never parsed again, only sliced off.
 */
import type { TaskEventType } from '../../shared/protocol.js';
import type { BusMessage } from './types.js';

const TYPES: ReadonlySet<string> = new Set<TaskEventType>(['progress', 'status', 'error']);

export function encodeBusMessage(origin: string, message: BusMessage): string {
  return `${origin} ${message.seq} ${message.type}\n${message.frame}`;
}

export interface DecodedBusMessage {
  readonly origin: string;
  readonly message: BusMessage;
}

/** The message, or `undefined` for a payload this codec did not write (ignored, never thrown). */
export function decodeBusMessage(taskId: string, payload: string): DecodedBusMessage | undefined {
  const newline = payload.indexOf('\n');
  if (newline < 0) return undefined;
  const [origin, seqText, type, extra] = payload.slice(0, newline).split(' ');
  if (origin === undefined || seqText === undefined || type === undefined || extra !== undefined)
    return undefined;
  const seq = Number(seqText);
  if (!Number.isSafeInteger(seq) || seq < 1 || !TYPES.has(type)) return undefined;
  return { origin, message: { taskId, seq, type: type as TaskEventType, frame: payload.slice(newline + 1) } };
}
