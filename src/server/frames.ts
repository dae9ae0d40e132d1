/** Serialisation of task events and snapshots into wire frames (once per event, never per recipient). */
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
