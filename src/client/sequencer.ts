/**
 * The per-task sequencer that makes guarantee 1 hold on the client: the app sees a task's
 * events in `seq` order, each once. `last` is the last `seq` handed to the app. An event at
 * `last + 1` goes out (and releases the held events that follow it); an older one is a
 * duplicate (replays overlap on purpose) and is dropped; a newer one means events were lost
 * (typically in flight when a socket died) and is held while the client asks the server to
 * replay `since: last`, once per gap.
 */
import type { TaskEventMessage } from '../shared/protocol.js';

/** Events held per task while a gap is repaired. Past it the newest are dropped: the replay brings them again. */
export const MAX_HELD_EVENTS = 1_000;

export interface SequencerResult {
  /** Events to hand to the app now, in order. */
  readonly ready: TaskEventMessage[];
  /** Set when a gap opened: ask the server to replay every event after this `seq`. */
  readonly askSince: number | undefined;
}

const NOTHING: SequencerResult = { ready: [], askSince: undefined };

/** First `seq` an event covers: a coalesced progress folds `coalesced_from..seq`. */
const firstSeqOf = (event: TaskEventMessage): number =>
  event.type === 'progress' && event.coalesced_from !== undefined
    ? Math.min(event.coalesced_from, event.seq)
    : event.seq;

export class Sequencer {
  /** Last `seq` handed to the app; `0` before any. */
  last: number;
  /**
   * A replay covering the current gap has been asked for on this socket; no second request
   * until the gap closes or the socket changes.
   */
  repairing = false;
  #held: TaskEventMessage[] = [];

  readonly #maxHeld: number;

  constructor(last = 0, maxHeld = MAX_HELD_EVENTS) {
    this.last = last;
    this.#maxHeld = maxHeld;
  }

  /**
   * Takes `event` if it is the very next one and nothing is held (the common case), without
   * allocating: `last` moves to it, and the caller hands it to the app. On `false` nothing
   * changed: feed the event to `push()`.
   */
  next(event: TaskEventMessage): boolean {
    if (event.seq !== this.last + 1 || this.#held.length > 0) return false;
    this.last = event.seq;
    // What `push()` does once nothing is held: the gap, if any, is closed.
    this.repairing = false;
    return true;
  }

  /** Feeds one event off the wire. */
  push(event: TaskEventMessage): SequencerResult {
    if (event.seq <= this.last) return NOTHING;
    if (firstSeqOf(event) > this.last + 1) {
      this.#hold(event);
      if (this.repairing) return NOTHING;
      this.repairing = true;
      return { ready: [], askSince: this.last };
    }
    this.last = event.seq;
    const ready = [event];
    this.#drain(ready);
    return { ready, askSince: undefined };
  }

  /** Takes a new baseline (a snapshot): everything up to `seq` counts as seen. Returns the held events it releases. */
  rebase(seq: number): TaskEventMessage[] {
    this.last = seq;
    const ready: TaskEventMessage[] = [];
    this.#drain(ready);
    return ready;
  }

  #drain(ready: TaskEventMessage[]): void {
    const held = this.#held;
    let taken = 0;
    while (taken < held.length) {
      const next = held[taken]!;
      if (firstSeqOf(next) > this.last + 1) break;
      taken++;
      if (next.seq > this.last) {
        ready.push(next);
        this.last = next.seq;
      }
    }
    if (taken > 0) held.splice(0, taken);
    if (held.length === 0) this.repairing = false;
  }

  /** Inserts in `seq` order, once per `seq`, within the cap. */
  #hold(event: TaskEventMessage): void {
    const held = this.#held;
    let low = 0;
    let high = held.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (held[mid]!.seq < event.seq) low = mid + 1;
      else high = mid;
    }
    if (held[low]?.seq === event.seq) return;
    held.splice(low, 0, event);
    if (held.length > this.#maxHeld) held.pop();
  }
}
