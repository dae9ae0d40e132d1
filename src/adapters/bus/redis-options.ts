/**
 * Options of `createRedisBus`, their defaults in one object, and the one function that
 * resolves them at construction.
 */
import type { Cluster, Redis } from 'ioredis';

/** An ioredis connection: a standalone `Redis` or a `Cluster`. */
export type RedisConnection = Redis | Cluster;

/** What the bus logs: pino's and console's methods fit, as for the server's `logger`. */
export interface RedisBusLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface RedisBusOptions {
  /**
   * The connection that PUBLISHes. It may be shared with the host's other commands. The bus
   * never closes it. While its `status` is not `ready` a publish rejects at once (the event
   * is already stored; see `docs/scaling.md`), whatever `enableOfflineQueue` says.
   */
  publisher: RedisConnection;
  /**
   * A connection used only for this bus's subscriptions (a connection in subscriber mode
   * cannot run other commands). Omit it in a process that only publishes (a queue worker).
   * The bus never closes it. `autoResubscribe` may be on or off: the bus re-subscribes its
   * channels itself after every reconnect.
   * @default undefined (publish only: `subscribe` throws)
   */
  subscriber?: RedisConnection;
  /**
   * Prefix of every channel (`${keyPrefix}task:${taskId}`). Give each deployment sharing a
   * Redis its own.
   * @default 'rp:'
   */
  keyPrefix?: string;
  /**
   * Use sharded pub/sub (`SSUBSCRIBE` / `SPUBLISH`, Redis 7+). In Redis Cluster a classic
   * `PUBLISH` is broadcast to every cluster node, a sharded one stays in the shard that owns
   * the channel's slot. On a single Redis it changes nothing but the command names.
   * @default false
   */
  sharded?: boolean;
  /**
   * How long a `PUBLISH` may take before the publish rejects. A connection that died without
   * telling us (a half-open socket) would otherwise hold the publisher until ioredis notices.
   * @default 2_000
   */
  publishTimeoutMs?: number;
  /**
   * Until a connection has been ready once (process start-up), `publish` and `subscribe` wait
   * up to this long for it instead of failing (publish) or resolving before delivery is live
   * (subscribe). After the first `ready`, a lost connection fails publishes at once.
   * @default 2_000
   */
  startupWaitMs?: number;
  /**
   * Tasks whose latest failed publish is remembered and re-published once the publisher is
   * back, so that other nodes notice a gap even when no later event follows. Past the cap the
   * oldest task is forgotten (its subscribers still catch up on their next event or resync).
   * @default 10_000
   */
  maxRepublishTasks?: number;
  /**
   * Calls the resync listener this often even without a reconnect, as a safety net for
   * messages lost without any connection event (a publisher that died while Redis was
   * unreachable). Each resync reads storage once per subscription. `0` turns it off.
   * @default 0
   */
  resyncIntervalMs?: number;
  /** Connection losses, re-subscriptions and failed publishes. @default silent */
  logger?: RedisBusLogger;
}

export const DEFAULT_REDIS_BUS_OPTIONS = {
  keyPrefix: 'rp:',
  sharded: false,
  publishTimeoutMs: 2_000,
  startupWaitMs: 2_000,
  maxRepublishTasks: 10_000,
  resyncIntervalMs: 0,
} as const;

export interface ResolvedRedisBusOptions {
  readonly publisher: RedisConnection;
  readonly subscriber: RedisConnection | undefined;
  readonly keyPrefix: string;
  readonly sharded: boolean;
  readonly publishTimeoutMs: number;
  readonly startupWaitMs: number;
  readonly maxRepublishTasks: number;
  readonly resyncIntervalMs: number;
  readonly logger: RedisBusLogger;
}

const silent: RedisBusLogger = { info() {}, warn() {} };

/**
 * Fills defaults and rejects unusable values, naming the fix.
 * @throws {TypeError} for a missing publisher, one connection passed twice, or a bad number.
 */
export function resolveRedisBusOptions(options: RedisBusOptions): ResolvedRedisBusOptions {
  const d = DEFAULT_REDIS_BUS_OPTIONS;
  if (options?.publisher === undefined || options.publisher === null) {
    throw new TypeError('createRedisBus needs a `publisher` ioredis connection.');
  }
  if (options.subscriber === options.publisher) {
    throw new TypeError(
      'createRedisBus needs two different connections: a connection in subscriber mode cannot PUBLISH. Pass `publisher.duplicate()` as `subscriber`.',
    );
  }
  const resolved: ResolvedRedisBusOptions = {
    publisher: options.publisher,
    subscriber: options.subscriber,
    keyPrefix: options.keyPrefix ?? d.keyPrefix,
    sharded: options.sharded ?? d.sharded,
    publishTimeoutMs: options.publishTimeoutMs ?? d.publishTimeoutMs,
    startupWaitMs: options.startupWaitMs ?? d.startupWaitMs,
    maxRepublishTasks: options.maxRepublishTasks ?? d.maxRepublishTasks,
    resyncIntervalMs: options.resyncIntervalMs ?? d.resyncIntervalMs,
    logger: options.logger ?? silent,
  };
  for (const [name, value, min] of [
    ['publishTimeoutMs', resolved.publishTimeoutMs, 1],
    ['startupWaitMs', resolved.startupWaitMs, 0],
    ['maxRepublishTasks', resolved.maxRepublishTasks, 0],
    ['resyncIntervalMs', resolved.resyncIntervalMs, 0],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < min) {
      throw new TypeError(`${name} must be an integer >= ${min}; got ${String(value)}.`);
    }
  }
  return resolved;
}
