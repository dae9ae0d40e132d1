/**
 * One client connection: its identity, its subscriptions and its outgoing path (one message
 * per frame, or `\n`-batched frames when the client opted in with `batch=1`).
 */
import type { Subscription } from './subscription.js';
import type { Identity } from './types.js';

/** The four-method socket the protocol core talks to; `attach.ts` adapts `ws` to it. */
export interface ServerSocket {
  send(data: string): void;
  close(code: number, reason: string): void;
  /** Bytes queued in the socket and not yet written to the network. */
  readonly bufferedAmount: number;
}

export interface ConnectionInfo {
  readonly identity: Identity;
  /** Several messages per frame, `\n`-separated (the seed's batching), when the client asked. */
  readonly batch: boolean;
  readonly ip: string;
  readonly userAgent: string;
}

export class Connection {
  readonly subscriptions = new Map<string, Subscription>();
  readonly connectedAtMs: number;
  lastActiveAtMs: number;
  messageCount = 0;
  /** No more frames go out; set once on close, kill or takeover. */
  closed = false;
  /** Another connection resumed this session; this one must not save it on close. */
  replaced = false;
  private outbox: string[] | undefined;

  constructor(
    readonly clientId: string,
    readonly socket: ServerSocket,
    readonly info: ConnectionInfo,
    nowMs: number,
    private readonly maxBufferedBytes: number,
    private readonly onSlow: (connection: Connection) => void,
  ) {
    this.connectedAtMs = nowMs;
    this.lastActiveAtMs = nowMs;
  }

  get identity(): Identity {
    return this.info.identity;
  }

  /** Sends one serialised message. */
  send(frame: string): void {
    if (this.closed) return;
    this.messageCount++;
    if (this.info.batch) {
      if (this.outbox === undefined) {
        this.outbox = [frame];
        setImmediate(() => this.flush());
      } else {
        this.outbox.push(frame);
      }
      return;
    }
    this.socket.send(frame);
    this.checkBackpressure();
  }

  private flush(): void {
    const outbox = this.outbox;
    this.outbox = undefined;
    if (outbox === undefined || this.closed) return;
    this.socket.send(outbox.join('\n'));
    this.checkBackpressure();
  }

  private checkBackpressure(): void {
    if (this.socket.bufferedAmount > this.maxBufferedBytes) this.onSlow(this);
  }

  /** Last `seq` delivered per subscribed task: what a session stores for resume. */
  cursors(): Record<string, number> {
    const cursors: Record<string, number> = {};
    for (const [taskId, sub] of this.subscriptions) cursors[taskId] = sub.cursor;
    return cursors;
  }
}
