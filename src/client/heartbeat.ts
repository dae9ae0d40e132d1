/**
 * The client heartbeat: the seed's `{"type":"ping"}` every `intervalMs`; when no frame at all
 * arrives within `timeoutMs` of a ping, the connection is dead (a half-open TCP connection
 * never reports its own death).
 *
 * Browsers throttle timers in hidden tabs (to once a minute after a while), but still deliver
 * socket messages. So a verdict uses measured time, not timer ticks: when the deadline timer
 * itself fired late, a pong may well have been on its way, and the connection gets one more
 * ping before it is declared dead.
 */

/** A deadline timer that fired this much later than asked ran in a throttled or frozen tab. */
const LATE_TIMER_MS = 1_000;

export interface HeartbeatDeps {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Sends a ping; `false` when the socket cannot send. */
  sendPing(): boolean;
  /** No frame arrived in time: the connection is dead. */
  dead(): void;
}

export class Heartbeat {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pingSentAtMs = 0;
  /** A frame arrived since the last ping went out (a flag, not a clock read per frame). */
  #heard = false;
  #secondChance = false;

  readonly #deps: HeartbeatDeps;

  constructor(deps: HeartbeatDeps) {
    this.#deps = deps;
  }

  /** Starts pinging; the first ping goes out after one interval. */
  start(): void {
    this.#pingAfter(this.#deps.intervalMs);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Any frame from the server proves the connection alive. */
  received(): void {
    this.#heard = true;
  }

  /** Pings now and waits for an answer (after `online`, or when a long-hidden page shows again). */
  probe(): void {
    this.stop();
    this.#ping();
  }

  /** Schedules the next regular ping (none when the heartbeat is off). */
  #pingAfter(delayMs: number): void {
    this.stop();
    if (this.#deps.intervalMs > 0) this.#timer = setTimeout(() => this.#ping(), delayMs);
  }

  #ping(): void {
    this.#pingSentAtMs = Date.now();
    this.#heard = false;
    if (!this.#deps.sendPing()) return;
    this.#timer = setTimeout(() => this.#check(), this.#deps.timeoutMs);
  }

  #check(): void {
    const now = Date.now();
    if (this.#heard) {
      this.#secondChance = false;
      this.#timer = setTimeout(() => this.#ping(), this.#pingSentAtMs + this.#deps.intervalMs - now);
      return;
    }
    if (now - this.#pingSentAtMs - this.#deps.timeoutMs > LATE_TIMER_MS && !this.#secondChance) {
      this.#secondChance = true;
      this.#ping();
      return;
    }
    this.#timer = undefined;
    this.#deps.dead();
  }
}
