/**
 * Options of `ProgressClient`, their defaults in one object, and the one function that
 * resolves them at construction.
 */
import WebSocketImpl from 'isomorphic-ws';
import type { PersistStorage } from './persistence.js';

/**
 * The socket the client drives: the browser's `WebSocket`, `ws` in Node, or a test double
 * (mock-socket). Only these members are used; `terminate()` is used when present (`ws`).
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: never) => unknown) | null;
  onmessage: ((event: never) => unknown) | null;
  onclose: ((event: never) => unknown) | null;
  onerror: ((event: never) => unknown) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Query parameters the client adds to its WebSocket and REST requests. */
export type QueryParams = Readonly<Record<string, string>>;

export interface BackoffOptions {
  /**
   * Delay before the first reconnect attempt; attempt `n` waits
   * `initialDelayMs * factor^(n-1)`, capped at `maxDelayMs` (the seed's 1 s, 2 s, 4 s, 8 s ... 30 s).
   * @default 1_000
   */
  initialDelayMs?: number;
  /**
   * Longest delay between two attempts.
   * @default 30_000
   */
  maxDelayMs?: number;
  /**
   * Growth of the delay per attempt.
   * @default 2
   */
  factor?: number;
  /**
   * Randomisation, from `0` (exact delays) to `1`: each delay is drawn from
   * `[delay * (1 - jitter), delay]`, so that clients cut at the same instant do not all come
   * back at the same instant. Never exceeds `maxDelayMs`.
   * @default 0.5
   */
  jitter?: number;
}

export interface ProgressClientOptions {
  /**
   * The server's WebSocket endpoint, e.g. `wss://example.com/api/v1/ws`. The client adds
   * `user_id`, `project_id` and, when resuming, `old_client_id` to its query.
   */
  url: string;
  /** Sent as `user_id`; the server's default `authenticate` uses it (`anonymous` when absent). */
  userId?: string;
  /** Sent as `project_id`. */
  projectId?: string;
  /**
   * Extra query parameters for the WebSocket and REST requests, such as a token that the
   * server's `authenticate` hook checks (browsers cannot set headers on a WebSocket).
   *
   * For a token that expires, pass a function: it is called, and awaited, before every
   * connection attempt (the first and each reconnect) and every `history()` request, so each
   * one carries a fresh token. Its wait counts toward `connectTimeoutMs`. A throw or rejection
   * fails that attempt: the client emits `error` (`source: 'client'`, code `PARAMS_FAILED`)
   * and retries after the usual backoff, counting toward `maxReconnectAttempts`; `history()`
   * rejects with what the function threw.
   * @default {}
   */
  params?: QueryParams | (() => QueryParams | Promise<QueryParams>);
  /**
   * Base URL of the REST API used by `history()`, e.g. `https://example.com/api/v1`. By default
   * it is derived from `url` when that ends in `/ws` (`wss://h/api/v1/ws` -> `https://h/api/v1`).
   */
  restUrl?: string;
  /**
   * Connect as soon as the client is constructed; with `false`, call `connect()`.
   * @default true
   */
  autoConnect?: boolean;
  /**
   * Reconnect after the connection drops (except after close codes 4001 and 4003 or an HTTP
   * 401/403 answer to the upgrade, which no retry can fix).
   * @default true
   */
  autoReconnect?: boolean;
  /**
   * Reconnect attempts in a row before the client gives up and emits a final `disconnected`.
   * The count resets whenever a connection is established.
   * @default Infinity (the seed's component used 5; a progress view usually outlives a long outage)
   */
  maxReconnectAttempts?: number;
  backoff?: BackoffOptions;
  /**
   * Interval of the seed's `{"type":"ping"}` heartbeat. `0` disables it.
   * @default 30_000
   */
  heartbeatIntervalMs?: number;
  /**
   * How long after a ping the client waits for any frame (`pong` or other) before it declares
   * the connection dead, closes it and reconnects (the half-open TCP case). Elapsed time is
   * measured with the clock, so a timer that a hidden tab ran late gets a second ping first.
   * @default 10_000
   */
  heartbeatTimeoutMs?: number;
  /**
   * How long one attempt may take, from its start (the wait for an async `params` included)
   * to the server's greeting, before it counts as failed.
   * @default 10_000
   */
  connectTimeoutMs?: number;
  /**
   * Keep the client id, and per task the last `seq` and state, across page reloads so that
   * the reloaded page resumes without a gap: `'session'` uses `sessionStorage` (per tab;
   * nothing is kept where there is none), or pass any `Storage`-like object. `false` keeps nothing.
   * @default false
   */
  persist?: 'session' | false | PersistStorage;
  /**
   * Persisted state older than this is ignored; match the server's `sessionTtlMs`.
   * @default 120_000
   */
  persistTtlMs?: number;
  /**
   * The WebSocket implementation.
   * @default the global `WebSocket` in browsers and workers, `ws` in Node (through isomorphic-ws)
   */
  WebSocket?: WebSocketConstructor;
}

/** Every default of {@link ProgressClientOptions}, in one place. */
export const DEFAULT_CLIENT_OPTIONS = {
  autoConnect: true,
  autoReconnect: true,
  maxReconnectAttempts: Number.POSITIVE_INFINITY,
  backoff: { initialDelayMs: 1_000, maxDelayMs: 30_000, factor: 2, jitter: 0.5 },
  heartbeatIntervalMs: 30_000,
  heartbeatTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  persist: false,
  persistTtlMs: 120_000,
} as const;

export interface ResolvedClientOptions {
  readonly url: string;
  readonly userId: string | undefined;
  readonly projectId: string | undefined;
  readonly params: NonNullable<ProgressClientOptions['params']>;
  readonly restUrl: string | undefined;
  readonly autoConnect: boolean;
  readonly autoReconnect: boolean;
  readonly maxReconnectAttempts: number;
  readonly backoff: Required<BackoffOptions>;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly persist: PersistStorage | undefined;
  readonly persistTtlMs: number;
  readonly WebSocket: WebSocketConstructor;
}

/**
 * Fills defaults and checks values once, at construction.
 * @throws {TypeError} when `url` is missing or a number is out of range.
 */
export function resolveClientOptions(options: ProgressClientOptions): ResolvedClientOptions {
  const { url } = options;
  if (!/^wss?:\/\//i.test(url))
    throw new TypeError(`url must be a ws:// or wss:// URL, got ${JSON.stringify(url)}.`);
  const resolved = {
    ...DEFAULT_CLIENT_OPTIONS,
    WebSocket: WebSocketImpl as unknown as WebSocketConstructor,
    params: {},
    restUrl: deriveRestUrl(url),
    ...defined(options),
    backoff: { ...DEFAULT_CLIENT_OPTIONS.backoff, ...defined(options.backoff ?? {}) },
  };
  for (const [name, value] of Object.entries({ ...resolved, ...resolved.backoff })) {
    const min = name === 'factor' ? 1 : 0;
    if (typeof value === 'number' && !(value >= min && (name !== 'jitter' || value <= 1))) {
      throw new TypeError(
        `${name} must be ${name === 'jitter' ? 'from 0 to 1' : `a number >= ${min}`}, got ${value}.`,
      );
    }
  }
  if (typeof resolved.WebSocket !== 'function')
    throw new TypeError('No WebSocket implementation: pass the WebSocket option.');
  const { userId, projectId } = options;
  return {
    ...resolved,
    userId,
    projectId,
    restUrl: resolved.restUrl?.replace(/\/+$/, ''),
    persist: persistStorage(resolved.persist),
  };
}

/** A copy without the `undefined` values, so that they do not override defaults. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** `wss://h/api/v1/ws` -> `https://h/api/v1`; `undefined` when the path does not end in `/ws`. */
function deriveRestUrl(url: string): string | undefined {
  const base = url.replace(/^ws/i, 'http').split(/[?#]/)[0]!;
  return base.endsWith('/ws') ? base.slice(0, -3) : undefined;
}

function persistStorage(persist: 'session' | false | PersistStorage): PersistStorage | undefined {
  if (persist === false) return undefined;
  if (persist !== 'session') return persist;
  try {
    // Reading `sessionStorage` throws where storage is blocked (sandboxed iframes, some privacy modes).
    return typeof sessionStorage === 'undefined' ? undefined : sessionStorage;
  } catch {
    return undefined;
  }
}
