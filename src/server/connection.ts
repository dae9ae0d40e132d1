/**
 * One client connection: its identity, its subscriptions and its outgoing path (one message
 * per frame, or `\n`-batched frames when the client opted in with `batch=1`), including the
 * slow-consumer policy: above `highWaterBytes` of unsent data, progress events are coalesced
 * to the latest per task (never a status or an error); a connection that stays above it for
 * `slowConsumerGraceMs`, or passes `maxBufferedBytes`, is closed with 4009.
 */
import type { BusMessage } from '../adapters/bus/types.js';
import type { Subscription } from './subscription.js';
import type { Identity } from './types.js';

/** The socket the protocol core talks to; `attach.ts` gives it `ws` sockets. */
export interface ServerSocket {
  /** Frames and sends one text message (used when `sendWire` is absent, and for batched frames). */
  send(data: string): void;
  /**
   * Writes already framed messages: the same bytes for every recipient of a broadcast, or
   * several messages for one socket in one write.
   */
  sendWire?(wire: Uint8Array): void;
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

export interface BackpressurePolicy {
  readonly highWaterBytes: number;
  readonly maxBufferedBytes: number;
  readonly slowConsumerGraceMs: number;
  /** How often a slow connection checks whether its socket drained. */
  readonly checkIntervalMs: number;
}

export interface ConnectionHooks {
  /** The connection must be closed with 4009. */
  tooSlow(connection: Connection): void;
  /** `count` progress events were folded into later ones. */
  coalesced(count: number): void;
  /** The framed bytes of a live event, shared by all its recipients. */
  wireOf(message: BusMessage): Uint8Array;
  /** Several messages framed into one buffer, for one write. */
  frame(texts: readonly string[]): Uint8Array;
}

/** Messages a batching connection gathers in one event-loop turn before it writes them anyway. */
const MAX_BATCHED_MESSAGES = 256;

/** A progress event held back from a slow consumer, standing for `fromSeq..message.seq`. */
interface HeldProgress {
  readonly fromSeq: number;
  readonly message: BusMessage;
}

export class Connection {
  readonly subscriptions = new Map<string, Subscription>();
  /** The last subscribe/unsubscribe still in progress, so the next one waits for it. */
  pendingOperation: Promise<void> | undefined;
  readonly connectedAtMs: number;
  lastActiveAtMs: number;
  messageCount = 0;
  /** No more frames go out; set once on close, kill or takeover. */
  closed = false;
  /** Another connection resumed this session; this one must not save it on close. */
  replaced = false;
  /** Tokens of the per-connection message rate limit. */
  rateTokens: number;
  rateCheckedAtMs: number;
  rateViolations = 0;
  private outbox: string[] | undefined;
  private held: Map<Subscription, HeldProgress> | undefined;
  private slowSinceMs: number | undefined;
  private slowTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly clientId: string,
    readonly socket: ServerSocket,
    readonly info: ConnectionInfo,
    nowMs: number,
    private readonly policy: BackpressurePolicy,
    private readonly hooks: ConnectionHooks,
    rateBurst: number,
  ) {
    this.connectedAtMs = nowMs;
    this.lastActiveAtMs = nowMs;
    this.rateTokens = rateBurst;
    this.rateCheckedAtMs = nowMs;
  }

  get identity(): Identity {
    return this.info.identity;
  }

  /** True while progress is being coalesced because the client reads too slowly. */
  get slow(): boolean {
    return this.held !== undefined;
  }

  /** Sends one serialised message. */
  send(frame: string): void {
    if (this.closed) return;
    this.messageCount++;
    if (this.info.batch) {
      if (this.outbox === undefined) {
        this.outbox = [frame];
        setImmediate(() => this.flushOutbox());
      } else if (this.outbox.push(frame) >= MAX_BATCHED_MESSAGES) {
        // A publisher that never yields must not grow the outbox without bound.
        this.flushOutbox();
      }
      return;
    }
    if (this.socket.sendWire === undefined) this.socket.send(frame);
    else this.socket.sendWire(this.hooks.frame([frame]));
    this.checkBackpressure();
  }

  /** Sends several serialised messages in order, in one write when the socket takes framed bytes. */
  sendAll(frames: readonly string[]): void {
    if (this.closed || frames.length === 0) return;
    if (this.info.batch || this.socket.sendWire === undefined) {
      for (const frame of frames) this.send(frame);
      return;
    }
    this.messageCount += frames.length;
    this.socket.sendWire(this.hooks.frame(frames));
    this.checkBackpressure();
  }

  /** Sends a live task event, coalescing progress while the consumer is slow. */
  sendEvent(sub: Subscription, message: BusMessage): void {
    if (this.closed) return;
    if (this.held !== undefined) {
      if (message.type === 'progress') {
        const previous = this.held.get(sub);
        if (previous !== undefined) this.hooks.coalesced(1);
        this.held.set(sub, { fromSeq: previous?.fromSeq ?? message.seq, message });
        return;
      }
      // Status and error events always go out, after the progress they follow.
      this.releaseHeld(sub);
    }
    if (this.info.batch || this.socket.sendWire === undefined) {
      this.send(message.frame);
      return;
    }
    this.messageCount++;
    this.socket.sendWire(this.hooks.wireOf(message));
    this.checkBackpressure();
  }

  /** Stops the slow-consumer timer; called once the connection is finished. */
  dispose(): void {
    if (this.slowTimer !== undefined) clearInterval(this.slowTimer);
    this.slowTimer = undefined;
    this.held = undefined;
  }

  /** Last `seq` delivered per subscribed task: what a session stores for resume. */
  cursors(): Record<string, number> {
    const cursors: Record<string, number> = {};
    for (const [taskId, sub] of this.subscriptions) {
      // Progress held back from a slow consumer was never sent: resume from before it.
      const held = this.held?.get(sub);
      cursors[taskId] = held === undefined ? sub.cursor : held.fromSeq - 1;
    }
    return cursors;
  }

  private flushOutbox(): void {
    const outbox = this.outbox;
    this.outbox = undefined;
    if (outbox === undefined || this.closed) return;
    this.socket.send(outbox.join('\n'));
    this.checkBackpressure();
  }

  private checkBackpressure(): void {
    const buffered = this.socket.bufferedAmount;
    if (buffered <= this.policy.highWaterBytes) return;
    if (buffered > this.policy.maxBufferedBytes) {
      this.hooks.tooSlow(this);
      return;
    }
    if (this.held === undefined) this.enterSlowMode();
  }

  private enterSlowMode(): void {
    this.held = new Map();
    this.slowSinceMs = Date.now();
    this.slowTimer = setInterval(() => this.checkDrained(), this.policy.checkIntervalMs);
  }

  /** Leaves slow mode once the socket drained below half the high-water mark. */
  private checkDrained(): void {
    if (this.closed) {
      this.dispose();
      return;
    }
    if (this.socket.bufferedAmount > this.policy.highWaterBytes / 2) {
      if (Date.now() - (this.slowSinceMs ?? 0) > this.policy.slowConsumerGraceMs) this.hooks.tooSlow(this);
      return;
    }
    const { held } = this;
    this.dispose();
    this.slowSinceMs = undefined;
    if (held !== undefined) for (const [sub, progress] of held) this.sendHeld(sub, progress);
  }

  private releaseHeld(sub: Subscription): void {
    const held = this.held?.get(sub);
    if (held === undefined) return;
    this.held!.delete(sub);
    this.sendHeld(sub, held);
  }

  private sendHeld(sub: Subscription, held: HeldProgress): void {
    if (sub.closed) return;
    const { fromSeq, message } = held;
    // Mark the fold so the client does not take the jump for a gap and ask for a replay.
    this.send(
      fromSeq === message.seq ? message.frame : `{"coalesced_from":${fromSeq},${message.frame.slice(1)}`,
    );
  }
}
