/**
 * The connection state machine: one socket at a time, its connect timeout, the heartbeat,
 * reconnects with backoff, and the browser's `online`/visibility signals. `state` is the one
 * source of truth; every change goes through `transition()`. Protocol messages are the
 * client's business: the client calls `established()` when the server's greeting arrives.
 *
 *   idle         --connect()-->                          connecting
 *   connecting   --greeting-->                           open
 *   connecting   --attempt failed-->                     reconnecting  (waits out the backoff, tries again)
 *   open         --socket lost-->                        reconnecting
 *   reconnecting --greeting-->                           open
 *   any          --close(), 4001/4003, attempts used up-> closed
 *   closed       --connect()-->                          connecting
 *
 * An attempt first gets its URL from the client, at once or as a promise (an async `params`),
 * then opens the socket. It fails when the socket closes before the greeting, when the URL
 * promise rejects, or when `connectTimeoutMs` passes, counted from the start of the attempt.
 */
import type { CloseCode } from '../shared/codes.js';
import { reconnectDelayMs } from './backoff.js';
import { watchEnvironment } from './environment.js';
import { Heartbeat } from './heartbeat.js';
import type { ResolvedClientOptions, WebSocketLike } from './options.js';

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/**
 * Close codes the client acts on: the shared `CloseCode` values (the types keep them equal),
 * repeated because importing a value from `shared/codes.ts` bundles its whole error table.
 */
export const NORMAL_CLOSURE: typeof CloseCode.Normal = 1000;
const UNAUTHENTICATED: typeof CloseCode.Unauthenticated = 4001;
const FORBIDDEN: typeof CloseCode.Forbidden = 4003;
/** Close code reported for losses detected by the client itself (timeouts, errors). */
const ABNORMAL = 1006;
const OPEN = 1;
const PING = JSON.stringify({ type: 'ping' });

/** The part of `ws`'s EventEmitter API the client uses where it exists. */
interface NodeSocketEvents {
  on(event: 'message', listener: (data: { toString(): string }, isBinary: boolean) => void): unknown;
}

export interface ConnectionCallbacks {
  /** The URL for the next attempt, or a promise of it (the client awaits an async `params`). */
  url(): string | Promise<string>;
  /** The promise from `url()` rejected: report it; returns the reason the attempt fails with. */
  urlFailed(error: unknown): string;
  /** A text frame arrived. */
  frame(data: string): void;
  /** The state changed; timers are already in place. */
  transition(from: ConnectionState, to: ConnectionState, code: number | undefined, reason: string): void;
  /** Reconnect attempt `attempt` starts after `delayMs`. */
  reconnecting(attempt: number, delayMs: number, code: number, reason: string): void;
  /** The socket is gone (called before any transition). */
  lost(code: number, reason: string): void;
  /** The page is going away: last chance to persist. */
  pagehide(): void;
}

export class Connection {
  #state: ConnectionState = 'idle';
  #socket: WebSocketLike | undefined;
  #attempt = 0;
  /**
   * Changes whenever the current socket is dropped (a loss, `close()`): a URL promise that
   * settles after its attempt was given up opens nothing and reports nothing.
   */
  #generation = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #stopWatching: (() => void) | undefined;
  readonly #heartbeat: Heartbeat;

  readonly #options: ResolvedClientOptions;
  readonly #callbacks: ConnectionCallbacks;

  constructor(options: ResolvedClientOptions, callbacks: ConnectionCallbacks) {
    this.#options = options;
    this.#callbacks = callbacks;
    this.#heartbeat = new Heartbeat({
      intervalMs: options.heartbeatIntervalMs,
      timeoutMs: options.heartbeatTimeoutMs,
      sendPing: () => this.send(PING),
      dead: () => this.#lose(ABNORMAL, 'heartbeat timeout'),
    });
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Starts connecting from `idle` or `closed`; otherwise does nothing. */
  connect(): void {
    if (this.#state !== 'idle' && this.#state !== 'closed') return;
    this.#attempt = 0;
    this.#stopWatching = watchEnvironment({
      online: () => this.retryNow(),
      visible: (hiddenMs) => {
        if (hiddenMs >= this.#options.heartbeatTimeoutMs) this.retryNow();
      },
      pagehide: () => this.#callbacks.pagehide(),
    });
    this.#transition('connecting', undefined, '');
    // A listener of the transition may have closed the client already.
    if (this.#is('connecting')) this.#openSocket();
  }

  /** The server greeted the socket: the connection is open and the attempt count resets. */
  established(): void {
    if (this.#state !== 'connecting' && this.#state !== 'reconnecting') return;
    this.#attempt = 0;
    this.#clearConnectTimer();
    this.#heartbeat.start();
    this.#transition('open', undefined, '');
  }

  /** Sends a text frame when open; `false` otherwise (callers keep state, not a queue). */
  send(data: string): boolean {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== OPEN) return false;
    socket.send(data);
    return true;
  }

  /** Closes for good (until `connect()`): no socket, timer or listener is left behind. */
  close(code: number = NORMAL_CLOSURE, reason = 'client closed'): void {
    if (this.#state === 'closed') return;
    this.#teardown(code, reason);
    this.#transition('closed', code, reason);
  }

  /** Retries now instead of waiting out the backoff; checks an open connection with a ping. */
  retryNow(): void {
    if (this.#state === 'open') {
      this.#heartbeat.probe();
    } else if (this.#state === 'reconnecting' && this.#retryTimer !== undefined) {
      this.#clearRetryTimer();
      this.#openSocket();
    }
  }

  #openSocket(): void {
    this.#retryTimer = undefined;
    // The timeout covers the whole attempt, from the wait for the URL to the greeting.
    this.#connectTimer = setTimeout(
      () => this.#lose(ABNORMAL, 'connect timeout'),
      this.#options.connectTimeoutMs,
    );
    const url = this.#callbacks.url();
    if (typeof url === 'string') {
      this.#open(url);
      return;
    }
    const generation = this.#generation;
    url.then(
      (href) => {
        if (generation === this.#generation) this.#open(href);
      },
      (error: unknown) => {
        if (generation !== this.#generation) return;
        const reason = this.#callbacks.urlFailed(error);
        // A listener of the report may have closed the client, or closed and connected it again.
        if (generation === this.#generation) this.#lose(ABNORMAL, reason);
      },
    );
  }

  #open(url: string): void {
    let socket: WebSocketLike;
    try {
      socket = new this.#options.WebSocket(url);
    } catch (error) {
      this.#lose(ABNORMAL, `could not open the socket: ${error}`);
      return;
    }
    this.#socket = socket;
    // What `ws` said went wrong; browsers say nothing.
    let failure = '';
    const received = (text: string): void => {
      if (socket !== this.#socket) return;
      this.#heartbeat.received();
      this.#callbacks.frame(text);
    };
    // `ws` (Node) also has an EventEmitter API, which skips the event object that `onmessage`
    // builds per message.
    const emitter = socket as Partial<NodeSocketEvents>;
    if (typeof emitter.on === 'function') {
      emitter.on('message', (data, isBinary) => {
        if (!isBinary) received(data.toString());
      });
    } else {
      socket.onmessage = (event: { data: unknown }) => {
        if (typeof event.data === 'string') received(event.data);
      };
    }
    socket.onerror = (event: { message?: unknown }) => {
      failure = String(event.message ?? '');
    };
    socket.onclose = (event: { code?: number; reason?: string }) => {
      if (socket !== this.#socket) return;
      // `ws` reports a refused upgrade only as an error ("Unexpected server response: 401"):
      // HTTP 401 and 403 count as close codes 4001 and 4003.
      const refused = /server response: 40([13])/.exec(failure)?.[1];
      const code = refused === undefined ? (event.code ?? ABNORMAL) : 4000 + Number(refused);
      this.#lose(code, event.reason || failure || 'connection closed');
    };
  }

  /** The socket died (or never opened): close for good, or schedule the next attempt. */
  #lose(code: number, reason: string): void {
    if (this.#state === 'closed' || this.#state === 'idle') return;
    this.#dropSocket();
    this.#callbacks.lost(code, reason);
    if (this.#is('closed')) return;
    const attempt = this.#attempt + 1;
    if (code === UNAUTHENTICATED || code === FORBIDDEN || !this.#options.autoReconnect) {
      this.close(code, reason);
    } else if (attempt > this.#options.maxReconnectAttempts) {
      this.close(code, `gave up after ${this.#options.maxReconnectAttempts} reconnect attempts (${reason})`);
    } else {
      this.#scheduleAttempt(attempt, code, reason);
    }
  }

  #scheduleAttempt(attempt: number, code: number, reason: string): void {
    this.#attempt = attempt;
    const delayMs = reconnectDelayMs(this.#attempt, this.#options.backoff);
    this.#retryTimer = setTimeout(() => this.#openSocket(), delayMs);
    this.#transition('reconnecting', code, reason);
    if (this.#is('reconnecting')) this.#callbacks.reconnecting(this.#attempt, delayMs, code, reason);
  }

  #teardown(code: number, reason: string): void {
    this.#dropSocket(code, reason);
    this.#clearRetryTimer();
    this.#stopWatching?.();
    this.#stopWatching = undefined;
  }

  /** Forgets the current socket: no handler of it runs again and it is shut down. */
  #dropSocket(code?: number, reason?: string): void {
    this.#generation++;
    this.#heartbeat.stop();
    this.#clearConnectTimer();
    const socket = this.#socket as (WebSocketLike & { terminate?: () => void }) | undefined;
    this.#socket = undefined;
    if (socket === undefined) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    // `ws` reports an aborted handshake as an 'error' event, and an EventEmitter throws on an unheard one.
    socket.onerror = () => {};
    try {
      // A clean close tells the server the client left; a dead socket is cut at once where possible.
      if (code === undefined && typeof socket.terminate === 'function') socket.terminate();
      else socket.close(code ?? NORMAL_CLOSURE, reason);
    } catch {
      // Closing a socket that never opened may throw in some implementations; it is gone either way.
    }
  }

  #clearRetryTimer(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #clearConnectTimer(): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
  }

  /** Reads the state afresh (callbacks run in between may have changed it). */
  #is(state: ConnectionState): boolean {
    return this.#state === state;
  }

  #transition(to: ConnectionState, code: number | undefined, reason: string): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#callbacks.transition(from, to, code, reason);
  }
}
