/**
 * The Redis bus: fan-out between server processes over Redis pub/sub, one channel per task
 * (`${keyPrefix}task:${taskId}`), so a process receives only the tasks its clients follow.
 *
 * Delivery through Redis is at-most-once; the hub makes it gapless from storage by `seq`.
 * This file keeps the three places where messages can be lost visible to the hub:
 * - the subscriber reconnected: `onResync` fires once the channels are live again;
 * - a publish failed: it rejects at once with a clear error (the event is already stored),
 *   and the task's latest failed message is re-published when the publisher is back, so
 *   other processes see the `seq` jump even if no later event of the task follows;
 * - a message of this process's own tasks never needs Redis: it is delivered locally first,
 *   which keeps single-node delivery working while Redis is down.
 */
import { randomBytes } from 'node:crypto';
import { type ChannelSet, createChannelSet } from './redis-channels.js';
import { decodeBusMessage, encodeBusMessage } from './redis-codec.js';
import { type RedisBusOptions, resolveRedisBusOptions } from './redis-options.js';
import { startupGate, withTimeout } from './redis-wait.js';
import type { Bus, BusMessage } from './types.js';

export type { RedisBusLogger, RedisBusOptions, RedisConnection } from './redis-options.js';
export { DEFAULT_REDIS_BUS_OPTIONS } from './redis-options.js';

/**
 * Creates a bus over two ioredis connections the host owns (and closes after `bus.close()`).
 * @example
 * import { Redis } from 'ioredis';
 * const publisher = new Redis(process.env.REDIS_URL);
 * const bus = createRedisBus({ publisher, subscriber: publisher.duplicate() });
 * const server = createProgressServer(httpServer, createSqlStorage({ db }), { bus });
 * @throws {TypeError} for unusable options (no publisher, one connection passed twice).
 */
export function createRedisBus(options: RedisBusOptions): Bus {
  const resolved = resolveRedisBusOptions(options);
  const { publisher, keyPrefix, logger, publishTimeoutMs, maxRepublishTasks } = resolved;
  const channelPrefix = `${keyPrefix}task:`;
  // Tells this process's own messages apart when Redis echoes them back.
  const origin = randomBytes(9).toString('base64url');
  const publishCommand = resolved.sharded ? 'spublish' : 'publish';
  /** Task -> its latest message that failed to publish, oldest task first. */
  const unpublished = new Map<string, BusMessage>();
  let listener: ((message: BusMessage) => void) | undefined;
  let resyncListener: (() => void) | undefined;
  let closed = false;

  const channels: ChannelSet | undefined =
    resolved.subscriber === undefined
      ? undefined
      : createChannelSet({
          connection: resolved.subscriber,
          channelPrefix,
          sharded: resolved.sharded,
          startupWaitMs: resolved.startupWaitMs,
          logger,
          onPayload(taskId, payload) {
            const decoded = decodeBusMessage(taskId, payload);
            if (decoded === undefined) {
              logger.warn(
                { channel: `${channelPrefix}${taskId}` },
                'Redis bus ignored a message it cannot decode',
              );
              return;
            }
            if (decoded.origin !== origin) listener?.(decoded.message);
          },
          onLive: () => resyncListener?.(),
        });

  const remember = (message: BusMessage): void => {
    const held = unpublished.get(message.taskId);
    if (held !== undefined && held.seq >= message.seq) return;
    unpublished.delete(message.taskId);
    unpublished.set(message.taskId, message);
    if (unpublished.size > maxRepublishTasks) {
      const oldest = unpublished.keys().next();
      if (!oldest.done) unpublished.delete(oldest.value);
    }
  };

  const publisherStarted = startupGate(publisher, resolved.startupWaitMs);

  const send = async (message: BusMessage): Promise<void> => {
    const what = `event ${message.seq} of task ${JSON.stringify(message.taskId)}`;
    await publisherStarted();
    if (publisher.status !== 'ready') {
      // ioredis would queue it offline (or reject, per `enableOfflineQueue`); fail fast either way.
      remember(message);
      throw new Error(
        `Redis is unavailable (publisher connection is "${publisher.status}"), so ${what} was not published to other processes. It is stored: their subscribers catch up from storage once Redis is back.`,
      );
    }
    const channel = `${channelPrefix}${message.taskId}`;
    try {
      await withTimeout(
        publisher[publishCommand](channel, encodeBusMessage(origin, message)),
        publishTimeoutMs,
      );
    } catch (error) {
      remember(message);
      throw new Error(
        `Redis failed to publish ${what} (${(error as Error)?.message ?? String(error)}). It is stored: other processes' subscribers catch up from storage.`,
        { cause: error },
      );
    }
    const held = unpublished.get(message.taskId);
    if (held !== undefined && held.seq <= message.seq) unpublished.delete(message.taskId);
  };

  /** The publisher is back: re-send each task's latest lost message so other processes see the gap. */
  const republish = (): void => {
    if (unpublished.size === 0 || closed) return;
    const messages = [...unpublished.values()];
    logger.info(
      { tasks: messages.length },
      'Redis bus re-publishing the latest event of tasks whose publish failed',
    );
    for (const message of messages) {
      send(message).catch((error) =>
        logger.warn({ err: error, taskId: message.taskId }, 'Redis bus re-publish failed'),
      );
    }
  };
  publisher.on('ready', republish);

  const resyncTimer =
    resolved.resyncIntervalMs > 0
      ? setInterval(() => resyncListener?.(), resolved.resyncIntervalMs).unref()
      : undefined;

  const assertOpen = (operation: string): void => {
    if (closed) throw new Error(`Redis bus ${operation} was called after close(); create a new bus.`);
  };

  return {
    async publish(message) {
      assertOpen('publish');
      // Local subscribers first: they must not depend on Redis being up.
      if (channels?.has(message.taskId)) listener?.(message);
      await send(message);
    },
    async subscribe(taskId) {
      assertOpen('subscribe');
      if (channels === undefined) {
        throw new TypeError(
          'This Redis bus was created without a `subscriber` connection, so it can only publish.',
        );
      }
      await channels.subscribe(taskId);
    },
    async unsubscribe(taskId) {
      await channels?.unsubscribe(taskId);
    },
    onMessage(next) {
      listener = next;
    },
    onResync(next) {
      resyncListener = next;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (resyncTimer !== undefined) clearInterval(resyncTimer);
      publisher.off('ready', republish);
      unpublished.clear();
      await channels?.close();
    },
  };
}
