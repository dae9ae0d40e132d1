/**
 * The subscriber side of the Redis bus: reference-counted per-task channels on one ioredis
 * connection, kept subscribed across reconnects.
 *
 * The connection is either live (`ready`) or not. While it is not, `subscribe` and
 * `unsubscribe` only change the wanted set and resolve at once: a hub must not hang on a
 * subscribe while Redis is down, and local delivery does not need Redis. On every `ready`
 * the wanted set is SUBSCRIBEd again (whether or not ioredis's `autoResubscribe` did it too;
 * a second SUBSCRIBE is harmless), channels dropped meanwhile are UNSUBSCRIBEd, and only
 * then `onLive` runs, so that the hub's catch-up from storage starts after delivery is live
 * again and nothing published in between can fall into a gap.
 */
import type { RedisBusLogger, RedisConnection } from './redis-options.js';
import { startupGate } from './redis-wait.js';

export interface ChannelSetOptions {
  readonly connection: RedisConnection;
  /** The channel of a task: `${keyPrefix}task:${taskId}`. */
  readonly channelPrefix: string;
  readonly sharded: boolean;
  /** Until the connection has been ready once, `subscribe` waits this long for it. */
  readonly startupWaitMs: number;
  readonly logger: RedisBusLogger;
  /** A message arrived on the channel of a task that is subscribed. */
  readonly onPayload: (taskId: string, payload: string) => void;
  /** The connection is (again) live with every wanted channel subscribed. */
  readonly onLive: () => void;
}

export interface ChannelSet {
  /** Whether this process wants the task's messages. */
  has(taskId: string): boolean;
  /** Adds a reference; the first one SUBSCRIBEs. Resolves once live, or at once while Redis is down. */
  subscribe(taskId: string): Promise<void>;
  /** Drops a reference; the last one UNSUBSCRIBEs. */
  unsubscribe(taskId: string): Promise<void>;
  /** Stops listening and UNSUBSCRIBEs everything (best effort); the connection stays the host's. */
  close(): Promise<void>;
}

/** Redis accepts far more, but a bounded command keeps one resubscribe from stalling the socket. */
const CHANNELS_PER_COMMAND = 1_000;

/** How long `close()` waits for its UNSUBSCRIBE. */
const CLOSE_TIMEOUT_MS = 1_000;

type Outcome = 'done' | 'lost';

export function createChannelSet(options: ChannelSetOptions): ChannelSet {
  const { connection, channelPrefix, sharded, logger } = options;
  const refs = new Map<string, number>();
  /** Subscribe commands in flight, so a second subscriber of the task waits for the same one. */
  const inFlight = new Map<string, Promise<void>>();
  /** Unsubscribed while down: ioredis's autoResubscribe may bring them back on reconnect. */
  const stale = new Set<string>();
  const messageEvent = sharded ? 'smessage' : 'message';
  let live = connection.status === 'ready';
  let epoch = 0;
  let lost = deferred();

  const started = startupGate(connection, options.startupWaitMs);
  const channelOf = (taskId: string): string => `${channelPrefix}${taskId}`;

  /** Sends (S)SUBSCRIBE or (S)UNSUBSCRIBE; `'lost'` when the connection dropped first. */
  const send = async (subscribe: boolean, taskIds: readonly string[]): Promise<Outcome> => {
    const connectionLost = lost.promise;
    for (let i = 0; i < taskIds.length; i += CHANNELS_PER_COMMAND) {
      const channels = taskIds.slice(i, i + CHANNELS_PER_COMMAND).map(channelOf);
      const command = issue(connection, sharded, subscribe, channels);
      try {
        const outcome = await Promise.race([command.then((): Outcome => 'done'), connectionLost]);
        if (outcome === 'lost') {
          command.catch(() => {}); // settles after reconnect or never; the next `ready` redoes it
          return 'lost';
        }
      } catch (error) {
        // ioredis rejects in-flight commands when the socket closes, sometimes before 'close'.
        if (connection.status !== 'ready') return 'lost';
        const verb = `${sharded ? 'S' : ''}${subscribe ? 'SUBSCRIBE' : 'UNSUBSCRIBE'}`;
        throw new Error(
          `Redis refused ${verb} ${channels[0]}${channels.length > 1 ? ` and ${channels.length - 1} more` : ''}: ${(error as Error)?.message ?? String(error)}`,
          { cause: error },
        );
      }
    }
    return 'done';
  };

  const restore = async (): Promise<void> => {
    const mine = epoch;
    const dropped = [...stale];
    stale.clear();
    try {
      if (dropped.length > 0 && (await send(false, dropped)) === 'lost') return;
      if (refs.size > 0 && (await send(true, [...refs.keys()])) === 'lost') return;
    } catch (error) {
      logger.warn(
        { err: error },
        'Redis bus could not re-subscribe after a reconnect; retrying on the next reconnect',
      );
      return;
    }
    // Dropped again meanwhile: the next 'ready' restores and resyncs.
    if (mine !== epoch || !live) return;
    logger.info({ channels: refs.size }, 'Redis bus subscriptions are live; catching up from storage');
    options.onLive();
  };

  const onReady = (): void => {
    live = true;
    epoch += 1;
    void restore();
  };
  const onClose = (): void => {
    if (!live) return;
    live = false;
    epoch += 1;
    const was = lost;
    lost = deferred();
    was.resolve('lost');
    logger.warn(
      { channels: refs.size },
      'Redis bus subscriber lost its connection; local delivery continues',
    );
  };
  const onMessage = (channel: string, payload: string): void => {
    if (!channel.startsWith(channelPrefix)) return; // the host's own channels on a shared connection
    const taskId = channel.slice(channelPrefix.length);
    if (refs.has(taskId)) options.onPayload(taskId, payload);
  };

  connection.on('ready', onReady);
  connection.on('close', onClose);
  connection.on('end', onClose);
  connection.on(messageEvent, onMessage);
  // A `lazyConnect` connection would wait for a first command that we only send once it is ready.
  if (connection.status === 'wait') connection.connect().catch(() => {});

  return {
    has: (taskId) => refs.has(taskId),

    async subscribe(taskId) {
      const count = refs.get(taskId) ?? 0;
      refs.set(taskId, count + 1);
      if (count > 0) return inFlight.get(taskId);
      stale.delete(taskId);
      const pending = (async () => {
        await started();
        // Not live: the next 'ready' subscribes it and resyncs. Unsubscribed meanwhile: nothing to do.
        if (live && refs.has(taskId)) await send(true, [taskId]);
      })();
      inFlight.set(taskId, pending);
      try {
        await pending;
      } catch (error) {
        refs.delete(taskId);
        throw error;
      } finally {
        if (inFlight.get(taskId) === pending) inFlight.delete(taskId);
      }
    },

    async unsubscribe(taskId) {
      const count = refs.get(taskId);
      if (count === undefined) return;
      if (count > 1) {
        refs.set(taskId, count - 1);
        return;
      }
      refs.delete(taskId);
      if (!live) {
        stale.add(taskId);
        return;
      }
      // Commands on one connection run in order, so a SUBSCRIBE sent after this one wins.
      if ((await send(false, [taskId])) === 'lost' && !refs.has(taskId)) stale.add(taskId);
    },

    async close() {
      connection.off('ready', onReady);
      connection.off('close', onClose);
      connection.off('end', onClose);
      connection.off(messageEvent, onMessage);
      const taskIds = [...refs.keys(), ...stale];
      refs.clear();
      stale.clear();
      if (live && taskIds.length > 0) {
        // Bounded: a half-open connection must not hold the host's shutdown.
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
        });
        await Promise.race([send(false, taskIds).catch(() => {}), timeout]);
        clearTimeout(timer);
      }
      lost.resolve('lost');
    },
  };
}

function issue(
  connection: RedisConnection,
  sharded: boolean,
  subscribe: boolean,
  channels: string[],
): Promise<unknown> {
  if (!sharded) return subscribe ? connection.subscribe(...channels) : connection.unsubscribe(...channels);
  // In Redis Cluster one sharded command may only name channels of one slot: one per channel.
  return Promise.all(
    channels.map((channel) =>
      subscribe ? connection.ssubscribe(channel) : connection.sunsubscribe(channel),
    ),
  );
}

function deferred(): { promise: Promise<Outcome>; resolve: (value: Outcome) => void } {
  let resolve!: (value: Outcome) => void;
  const promise = new Promise<Outcome>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
