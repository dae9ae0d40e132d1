/**
 * Options of `createProgressServer`, their defaults in one object, and the one function that
 * resolves them at construction.
 */
import type { Bus, ClusterPresence } from '../adapters/bus/types.js';
import type { Authenticate, Authorize, AuthRequest, Logger } from './types.js';

export interface ThrottleOptions {
  /**
   * Progress updates of one task closer together than this are coalesced to the latest.
   * The first update, the last one before a status change, and every status and error
   * always go out. `0` turns the throttle off.
   * @default 0
   */
  progressIntervalMs?: number;
}

export interface HeartbeatOptions {
  /**
   * Interval of protocol-level pings; a peer that has not answered the previous ping by the
   * next one is dropped. Browsers answer protocol pings even in hidden tabs. `0` disables.
   * @default 30_000
   */
  intervalMs?: number;
}

export interface LimitOptions {
  /**
   * Largest client frame accepted; a bigger one closes the connection with 1009.
   * @default 65_536
   */
  maxFrameBytes?: number;
  /**
   * WebSocket connections this process accepts at once; more are refused with HTTP 429.
   * @default 100_000
   */
  maxConnections?: number;
  /**
   * Connections at once from one IP address; `0` means no limit. Off by default because
   * clients behind a proxy or a carrier NAT share an address; see `SECURITY.md`.
   * @default 0
   */
  maxConnectionsPerIp?: number;
  /**
   * Connections at once per `Identity.userId`; `0` means no limit. Off by default because the
   * default identity (`user_id` from the query, often `anonymous`) is not authenticated.
   * @default 0
   */
  maxConnectionsPerUser?: number;
  /**
   * Tasks one client may follow at once; more gets a `TOO_MANY_SUBSCRIPTIONS` error.
   * @default 100
   */
  maxSubscriptionsPerClient?: number;
  /**
   * Unsent bytes above which a connection counts as a slow consumer: its pending progress
   * events are coalesced to the latest per task (marked `coalesced_from`); statuses and
   * errors still go out. It leaves slow mode once its buffer drains below half of this.
   * @default 1_048_576 (1 MiB)
   */
  highWaterBytes?: number;
  /**
   * A slow consumer that stays above `highWaterBytes` this long is closed with 4009 (it
   * resumes and catches up from history).
   * @default 10_000
   */
  slowConsumerGraceMs?: number;
  /**
   * Unsent bytes past which a connection is closed with 4009 at once.
   * @default 8_388_608 (8 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * Sustained client messages per second (token bucket); excess messages are refused with a
   * `RATE_LIMITED` error.
   * @default 50
   */
  messagesPerSecond?: number;
  /**
   * Client messages allowed in a burst (the bucket's size); enough for a reconnecting client
   * to re-subscribe to `maxSubscriptionsPerClient` tasks at once.
   * @default 200
   */
  messageBurst?: number;
  /**
   * Refused messages after which the connection is closed with 4008 (sustained abuse).
   * @default 100
   */
  maxRateViolations?: number;
  /**
   * Live events held per subscription while its history is being replayed; past it the
   * held events are dropped and the replay continues from storage instead.
   * @default 1_000
   */
  maxPendingEventsPerSubscription?: number;
  /**
   * Events replayed for one subscription after `since` (beyond it the client gets the latest
   * state and `recovered: false`).
   * @default 1_000
   */
  maxReplayEvents?: number;
}

export interface ProgressServerOptions {
  /**
   * WebSocket endpoint; `${path}/reconnect` is the resume endpoint. Upgrades on other paths
   * are left to the host's other listeners.
   * @default '/api/v1/ws'
   */
  path?: string;
  /**
   * Base path of the REST routes served by `nodeHandler` and `fetch`.
   * @default '/api/v1'
   */
  apiBasePath?: string;
  /**
   * Decides who connects. Default: `user_id` (or `anonymous`) and `project_id` from the
   * query string, as the seed does. Once set, those query parameters are ignored.
   */
  authenticate?: Authenticate;
  /** Decides who may follow a task. Default: everyone may follow every task. */
  authorize?: Authorize;
  /**
   * Browser origins allowed to open a WebSocket: exact origins (`'https://app.example.com'`),
   * regular expressions, or a function. Upgrades without an `Origin` header (non-browser
   * clients) are always allowed. A refused origin gets HTTP 403 before the upgrade.
   * @default same-origin only when `authenticate` is set (cookies then carry authority, so a
   * foreign page must not borrow them: cross-site WebSocket hijacking); any origin otherwise,
   * as the seed did, since the default identity comes from the query string.
   */
  allowedOrigins?: ReadonlyArray<string | RegExp> | ((origin: string, request: AuthRequest) => boolean);
  /** Fan-out between processes. @default createLocalBus() */
  bus?: Bus;
  /**
   * Cluster-wide numbers for `GET /websocket/stats` and `GET /progress/active`: each node
   * reports its own connections (`createRedisPresence` from `realtime-progress/redis`); a
   * crashed node's clients drop out after the store's `ttlMs`.
   * @default undefined (this process's connections only)
   */
  presence?: ClusterPresence;
  /** Structured logger (pino, console). @default silent */
  logger?: Logger;
  /**
   * How long a disconnected client's session (id, subscriptions, position per task) can be
   * resumed.
   * @default 120_000
   */
  sessionTtlMs?: number;
  /**
   * Interval of storage cleanup (history retention, expired sessions). `0` disables.
   * @default 60_000
   */
  cleanupIntervalMs?: number;
  heartbeat?: HeartbeatOptions;
  limits?: LimitOptions;
  throttle?: ThrottleOptions;
}

export const DEFAULT_SERVER_OPTIONS = {
  path: '/api/v1/ws',
  apiBasePath: '/api/v1',
  sessionTtlMs: 120_000,
  cleanupIntervalMs: 60_000,
  heartbeat: { intervalMs: 30_000 },
  limits: {
    maxConnections: 100_000,
    maxConnectionsPerIp: 0,
    maxConnectionsPerUser: 0,
    maxFrameBytes: 65_536,
    maxSubscriptionsPerClient: 100,
    highWaterBytes: 1024 * 1024,
    slowConsumerGraceMs: 10_000,
    maxBufferedBytes: 8 * 1024 * 1024,
    messagesPerSecond: 50,
    messageBurst: 200,
    maxRateViolations: 100,
    maxPendingEventsPerSubscription: 1_000,
    maxReplayEvents: 1_000,
  },
  throttle: { progressIntervalMs: 0 },
} as const;

export interface ResolvedServerOptions {
  path: string;
  apiBasePath: string;
  authenticate: Authenticate | undefined;
  authorize: Authorize | undefined;
  allowedOrigins: ProgressServerOptions['allowedOrigins'];
  sessionTtlMs: number;
  cleanupIntervalMs: number;
  heartbeat: Required<HeartbeatOptions>;
  limits: Required<LimitOptions>;
  throttle: Required<ThrottleOptions>;
}

/** Fills defaults and checks values once, at construction. */
export function resolveServerOptions(options: ProgressServerOptions): ResolvedServerOptions {
  const path = trimTrailingSlash(options.path ?? DEFAULT_SERVER_OPTIONS.path);
  const apiBasePath = trimTrailingSlash(options.apiBasePath ?? DEFAULT_SERVER_OPTIONS.apiBasePath);
  if (!path.startsWith('/')) throw new TypeError(`path must start with "/", got ${JSON.stringify(path)}.`);
  return {
    path,
    apiBasePath,
    authenticate: options.authenticate,
    authorize: options.authorize,
    allowedOrigins: options.allowedOrigins,
    sessionTtlMs: options.sessionTtlMs ?? DEFAULT_SERVER_OPTIONS.sessionTtlMs,
    cleanupIntervalMs: options.cleanupIntervalMs ?? DEFAULT_SERVER_OPTIONS.cleanupIntervalMs,
    heartbeat: { ...DEFAULT_SERVER_OPTIONS.heartbeat, ...options.heartbeat },
    limits: { ...DEFAULT_SERVER_OPTIONS.limits, ...options.limits },
    throttle: { ...DEFAULT_SERVER_OPTIONS.throttle, ...options.throttle },
  };
}

function trimTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
