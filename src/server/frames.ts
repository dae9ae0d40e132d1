/**
 * Serialisation of task events and snapshots into messages, and of messages into WebSocket
 * frames: once per event, never per recipient.
 */
import type { StoredTaskEvent, TaskSnapshot } from '../adapters/storage/types.js';
import type { ProgressMessage, TaskEventMessage } from '../shared/protocol.js';

/** The wire message of a stored event: `{"type","task_id","seq","payload"}`. */
export function encodeTaskEvent(event: StoredTaskEvent): string {
  const message = {
    type: event.type,
    task_id: event.taskId,
    seq: event.seq,
    payload: event.payload,
  } as TaskEventMessage;
  return JSON.stringify(message);
}

/** The latest state sent on subscribe: a `progress` message marked `snapshot: true`. */
export function encodeSnapshot(snapshot: TaskSnapshot): string {
  const message: ProgressMessage = {
    type: 'progress',
    task_id: snapshot.taskId,
    seq: snapshot.seq,
    snapshot: true,
    payload: snapshot.state,
  };
  return JSON.stringify(message);
}

/** Bytes of an unmasked server frame's header for a payload of `length` bytes (RFC 6455, 5.2). */
const headerBytes = (length: number): number => (length < 126 ? 2 : length < 65_536 ? 4 : 10);

/**
 * Text messages framed for the wire (each unmasked, final, uncompressed) in one buffer: built
 * once per broadcast and written as is to every recipient's socket, or several messages for
 * one socket in a single write. One allocation and one copy per message: ws's `Sender.frame`
 * would add a copy of the text and a concatenation.
 */
export function frameTexts(texts: readonly string[]): Uint8Array {
  const lengths = texts.map((text) => Buffer.byteLength(text));
  let total = 0;
  for (const length of lengths) total += headerBytes(length) + length;
  const wire = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let index = 0; index < texts.length; index++) {
    const length = lengths[index]!;
    wire[offset++] = 0x81; // FIN + text opcode
    if (length < 126) {
      wire[offset++] = length;
    } else if (length < 65_536) {
      wire[offset++] = 126;
      offset = wire.writeUInt16BE(length, offset);
    } else {
      wire[offset++] = 127;
      // 64-bit length; a text past 2^32 bytes cannot exist (a string is at most 2^29 units).
      offset = wire.writeUInt32BE(0, offset);
      offset = wire.writeUInt32BE(length, offset);
    }
    offset += wire.write(texts[index]!, offset);
  }
  return wire;
}
