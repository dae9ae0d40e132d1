/**
 * One connection's subscription to one task: the sequencer that makes delivery ordered and
 * gapless. `cursor` is the last `seq` written to the socket for this task. Live events at
 * `cursor + 1` go straight out; older ones are duplicates and dropped; a jump means events
 * were missed (bus reordering, a lost message) and the subscription catches up from storage.
 * While it catches up, live events wait in a bounded pending list.
 */
import type { BusMessage } from '../adapters/bus/types.js';
import type { Connection } from './connection.js';

export interface SubscriptionOwner {
  /** Writes a live event to the connection (which may coalesce it for a slow consumer). */
  deliver(sub: Subscription, message: BusMessage): void;
  /** Starts catching the subscription up from storage after `sub.cursor`. */
  catchUp(sub: Subscription, since: number | undefined): void;
  /** A held live event was dropped because the pending list was full. */
  dropped(): void;
}

export class Subscription {
  /** Last `seq` written to the socket for this task; `0` before any. */
  cursor = 0;
  /** True while history is being replayed; live events wait in `pending`. */
  replaying = true;
  /** Set when the connection unsubscribed or closed; an ongoing replay stops. */
  closed = false;
  /** A replay from this `seq` was asked for while another replay ran. */
  rewindTo: number | undefined;
  /**
   * This connection carries the task's events from here on (the position it started from:
   * a resumed session's cursor, `since`, or the snapshot's seq). A rewind below it only
   * needs the events in between.
   */
  baseCursor: number | undefined;
  private pending: BusMessage[] = [];
  private overflowed = false;

  constructor(
    readonly taskId: string,
    readonly connection: Connection,
    private readonly owner: SubscriptionOwner,
    private readonly maxPending: number,
  ) {}

  /** Handles a live event of this task. */
  deliver(message: BusMessage): void {
    if (this.closed) return;
    if (this.replaying) {
      if (this.pending.length < this.maxPending) this.pending.push(message);
      else {
        this.overflowed = true;
        this.owner.dropped();
      }
      return;
    }
    if (message.seq <= this.cursor) return;
    if (message.seq === this.cursor + 1) {
      this.cursor = message.seq;
      this.owner.deliver(this, message);
      return;
    }
    // A gap: hold this event and fetch what lies between from storage.
    this.replaying = true;
    this.pending.push(message);
    this.owner.catchUp(this, this.cursor);
  }

  /** Live events waiting for the replay to finish. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Ends a replay: returns the held events to deliver in order, or `undefined` when the
   * holding list overflowed and the replay must continue from storage instead.
   */
  takePending(): BusMessage[] | undefined {
    const pending = this.pending;
    this.pending = [];
    if (this.overflowed) {
      this.overflowed = false;
      return undefined;
    }
    return pending;
  }
}
