/**
 * The hub: live connections, the task -> subscribers index, the bus listener, and the
 * session resume flow. It talks to sockets only through `ServerSocket` (no `ws` here).
 */
import { randomUUID } from 'node:crypto';
import type { Bus, BusMessage, ClusterPresence } from '../adapters/bus/types.js';
import type { SessionRecord, StorageAdapter } from '../adapters/storage/types.js';
import { CloseCode, type ErrorCode } from '../shared/codes.js';
import { decodeClientFrame } from '../shared/decode.js';
import { ProgressError } from '../shared/errors.js';
import {
  clientErrorMessage,
  connectedMessage,
  pongMessage,
  reconnectedMessage,
  subscribedMessage,
  unsubscribedMessage,
} from '../shared/messages.js';
import type { AuthHooks } from './auth.js';
import {
  type BackpressurePolicy,
  Connection,
  type ConnectionHooks,
  type ConnectionInfo,
  type ServerSocket,
} from './connection.js';
import { encodeSnapshot, encodeTaskEvent } from './frames.js';
import { logs, redactClientId, safeForLog } from './logger.js';
import type { MetricsRecorder } from './metrics.js';
import type { ResolvedServerOptions } from './options.js';
import { Subscription, type SubscriptionOwner } from './subscription.js';
import type { ClientRegistry, ConnectionStats, Identity, Logger } from './types.js';

export interface HubDeps {
  readonly metrics: MetricsRecorder;
  readonly storage: StorageAdapter;
  readonly bus: Bus;
  readonly auth: AuthHooks;
  readonly logger: Logger;
  readonly options: ResolvedServerOptions;
  readonly now: () => number;
  /**
   * Frames text messages for the wire into one buffer: a broadcast is framed once for all its
   * recipients, and a reply of several messages leaves in one write.
   */
  readonly frameTexts: (texts: readonly string[]) => Uint8Array;
  /** Cluster presence, told whenever this node's connections change. */
  readonly presence?: ClusterPresence | undefined;
}

/** What a new connection asks for, prepared (asynchronously) before the upgrade completes. */
export interface OpenRequest extends ConnectionInfo {
  readonly oldClientId: string | undefined;
  /** What resuming `oldClientId` would bring back, prepared before the upgrade. */
  readonly resume: PreparedResume | null;
}

interface CatchUpPlan {
  readonly frames: string[];
  readonly cursor: number;
  /** Set when the catch-up started from a `since`: whether every event after it is replayed. */
  readonly recovered: boolean | undefined;
}

/** What a resume would restore; prepared (asynchronously) before the upgrade completes. */
export interface PreparedResume {
  /** Task -> position, from the live connection or the stored session. */
  readonly cursors: Readonly<Record<string, number>>;
  /** Tasks `authorize` now refuses: left out, each answered with `FORBIDDEN`. */
  readonly refused: ReadonlySet<string>;
  readonly expiresAtMs: number;
}

const withoutTasks = (
  cursors: Readonly<Record<string, number>>,
  refused: ReadonlySet<string>,
): Record<string, number> =>
  Object.fromEntries(Object.entries(cursors).filter(([taskId]) => !refused.has(taskId)));

/** Why a subscription was refused (also sent to the client as an `error`). */
interface Refusal {
  readonly code: ErrorCode;
  readonly message: string;
}

/** How often a slow consumer's socket is checked for having drained. */
const SLOW_CHECK_INTERVAL_MS = 25;

/** The `subscribed` answer for `taskId`, listing every task the connection follows. */
const subscribedFrame = (connection: Connection, taskId: string, recovered?: boolean): string =>
  JSON.stringify(subscribedMessage(taskId, [...connection.subscriptions.keys()], recovered));

/** Resume failure reason: unknown, expired and foreign ids look the same from outside. */
const SESSION_NOT_FOUND = 'SESSION_NOT_FOUND';

/**
 * A new client id: `client-` plus a random UUID (122 bits from the CSPRNG; Node draws them from
 * a cached batch of random bytes, far cheaper than a `randomBytes` call per id).
 */
export function newClientId(): string {
  return `client-${randomUUID()}`;
}

export class Hub {
  private readonly connections = new Map<string, Connection>();
  /** Task -> its local subscriptions and the promise of the bus subscription being live. */
  private readonly tasks = new Map<string, { subs: Set<Subscription>; ready: Promise<void> }>();
  private readonly sessionSaves = new Set<Promise<void>>();
  private closing = false;
  private lastWire: { message: BusMessage; wire: Uint8Array } | undefined;
  /** Shared by every subscription and connection: no closures per subscriber. */
  private readonly subscriptionOwner: SubscriptionOwner;
  private readonly backpressure: BackpressurePolicy;
  private readonly connectionHooks: ConnectionHooks;

  constructor(private readonly deps: HubDeps) {
    const { metrics, options } = deps;
    this.subscriptionOwner = {
      deliver: (sub, message) => sub.connection.sendEvent(sub, message),
      catchUp: (sub, since) => void this.runCatchUp(sub.connection, sub, since, false),
      dropped: () => {
        metrics.droppedPendingEvents++;
      },
    };
    this.backpressure = {
      highWaterBytes: options.limits.highWaterBytes,
      maxBufferedBytes: options.limits.maxBufferedBytes,
      slowConsumerGraceMs: options.limits.slowConsumerGraceMs,
      checkIntervalMs: SLOW_CHECK_INTERVAL_MS,
    };
    this.connectionHooks = {
      tooSlow: (slow) => {
        metrics.slowConsumerDisconnects++;
        this.kill(slow, CloseCode.SlowConsumer, 'too slow a consumer');
      },
      coalesced: (count) => {
        metrics.coalescedEvents += count;
      },
      wireOf: (message) => this.wireOf(message),
      frame: (texts) => deps.frameTexts(texts),
    };
    deps.bus.onMessage((message) => this.fanOut(message));
    deps.bus.onResync(() => this.resyncAll());
  }

  /**
   * Looks up what resuming `oldClientId` as `identity` would restore (a live connection of
   * the same user here, or a stored session), and asks `authorize` again for every task:
   * access revoked while the client was away stays revoked. `null` when there is nothing the
   * identity may resume.
   */
  async prepareResume(oldClientId: string | undefined, identity: Identity): Promise<PreparedResume | null> {
    if (oldClientId === undefined) return null;
    const live = this.connections.get(oldClientId);
    let session: SessionRecord | null = null;
    if (live === undefined) session = await this.deps.storage.getSession(oldClientId, this.deps.now());
    const owner = live?.identity.userId ?? session?.userId;
    if (owner !== identity.userId) return null;
    const cursors = live?.cursors() ?? session?.subscriptions ?? {};
    const refused = new Set<string>();
    for (const taskId of Object.keys(cursors)) {
      if (!(await this.deps.auth.authorize(identity, taskId))) refused.add(taskId);
    }
    return { cursors, refused, expiresAtMs: session?.expiresAtMs ?? Number.POSITIVE_INFINITY };
  }

  /** Registers an upgraded socket and greets it (`connected`, or `reconnected` on resume). */
  open(socket: ServerSocket, request: OpenRequest): Connection {
    const now = this.deps.now();
    const { oldClientId, identity } = request;
    let restored: Readonly<Record<string, number>> | undefined;
    const { metrics, options } = this.deps;
    metrics.connectionsOpened++;
    const { resume } = request;
    if (oldClientId !== undefined) {
      metrics.resumeAttempts++;
      const live = this.connections.get(oldClientId);
      if (resume !== null && live !== undefined && live.identity.userId === identity.userId) {
        // Positions may have moved on since the resume was prepared.
        restored = withoutTasks(live.cursors(), resume.refused);
        this.takeOver(live);
      } else if (resume !== null && live === undefined && resume.expiresAtMs > now) {
        restored = withoutTasks(resume.cursors, resume.refused);
        void this.deps.storage
          .deleteSession(oldClientId)
          .catch((error) => this.logStorageError(error, 'deleteSession'));
      }
    }
    if (restored !== undefined) metrics.resumeSuccesses++;
    const clientId = restored !== undefined && oldClientId !== undefined ? oldClientId : newClientId();
    // Only what the connection lives with: not the resume data it was opened with.
    const info: ConnectionInfo = {
      identity,
      batch: request.batch,
      ip: request.ip,
      userAgent: request.userAgent,
    };
    const connection = new Connection(
      clientId,
      socket,
      info,
      now,
      this.backpressure,
      this.connectionHooks,
      options.limits.messageBurst,
    );
    this.connections.set(clientId, connection);
    this.deps.presence?.changed();

    const greeting =
      oldClientId === undefined
        ? connectedMessage(clientId, now)
        : reconnectedMessage(
            clientId,
            oldClientId,
            Object.keys(restored ?? {}),
            now,
            restored === undefined ? SESSION_NOT_FOUND : undefined,
          );
    connection.send(JSON.stringify(greeting));
    for (const [taskId, cursor] of Object.entries(restored ?? {}))
      this.restoreSubscription(connection, taskId, cursor);
    if (restored !== undefined) {
      for (const taskId of resume?.refused ?? []) {
        this.sendError(
          connection,
          taskId,
          'FORBIDDEN',
          `Not allowed to follow task ${JSON.stringify(taskId)} any more.`,
        );
      }
    }

    this.audit(connection, null);
    if (logs(this.deps.logger, 'info')) this.logOpened(connection, oldClientId, restored);
    return connection;
  }

  private logOpened(
    connection: Connection,
    oldClientId: string | undefined,
    restored: Readonly<Record<string, number>> | undefined,
  ): void {
    const { identity } = connection;
    const log = {
      clientId: redactClientId(connection.clientId),
      userId: safeForLog(identity.userId),
      projectId: safeForLog(identity.projectId),
    };
    if (oldClientId === undefined) this.deps.logger.info(log, 'WebSocket client connected');
    else if (restored !== undefined)
      this.deps.logger.info(
        { ...log, tasks: Object.keys(restored).length },
        'WebSocket client resumed its session',
      );
    else this.deps.logger.info(log, 'WebSocket client could not resume; new session');
  }

  /** Handles one text frame from a client. */
  receive(connection: Connection, data: string): void {
    if (connection.closed) return;
    const now = this.deps.now();
    connection.lastActiveAtMs = now;
    for (const decoded of decodeClientFrame(data)) {
      if (!this.takeRateToken(connection, now)) {
        if (connection.closed) return;
        continue;
      }
      if (!decoded.ok) {
        this.sendError(connection, decoded.taskId, decoded.code, decoded.error);
        continue;
      }
      const message = decoded.message;
      if (!('action' in message)) {
        connection.send(JSON.stringify(pongMessage(now)));
        continue;
      }
      switch (message.action) {
        case 'subscribe':
          void this.inOrder(connection, () => this.subscribe(connection, message.task_id, message.since));
          break;
        case 'unsubscribe':
          void this.inOrder(connection, () => this.unsubscribe(connection, message.task_id));
          break;
      }
    }
  }

  /**
   * The per-connection token bucket: refills at `messagesPerSecond` up to `messageBurst`.
   * A refused message gets one `RATE_LIMITED` error per refill interval (errors must not
   * amplify a flood); `maxRateViolations` refusals close the connection with 4008.
   */
  private takeRateToken(connection: Connection, now: number): boolean {
    const { messagesPerSecond, messageBurst, maxRateViolations } = this.deps.options.limits;
    const elapsedMs = now - connection.rateCheckedAtMs;
    if (elapsedMs > 0) {
      connection.rateTokens = Math.min(
        messageBurst,
        connection.rateTokens + (elapsedMs * messagesPerSecond) / 1000,
      );
      connection.rateCheckedAtMs = now;
    }
    if (connection.rateTokens >= 1) {
      connection.rateTokens--;
      return true;
    }
    this.deps.metrics.rateLimitedMessages++;
    connection.rateViolations++;
    if (connection.rateViolations >= maxRateViolations) {
      this.kill(connection, CloseCode.PolicyViolation, 'rate limit exceeded');
    } else if (connection.rateTokens >= 0) {
      // Go one token into debt, so the next error waits for a refill.
      connection.rateTokens -= 1;
      this.sendError(
        connection,
        '',
        'RATE_LIMITED',
        `Too many messages; at most ${messagesPerSecond} per second are accepted.`,
      );
    }
    return false;
  }

  /** The socket closed: forget the connection and keep its session for resume. */
  closed(connection: Connection): void {
    void this.finish(connection);
  }

  /**
   * Closes every connection and waits for their sessions to be saved: at once with 1001, or
   * with `drainMs`, each at a random moment within it with 1012 (service restart), so the
   * clients of a node being redeployed do not all land on the other nodes in the same second.
   */
  async close(drainMs = 0): Promise<void> {
    this.closing = true;
    const [code, reason] =
      drainMs > 0
        ? [CloseCode.ServiceRestart, 'service restart']
        : [CloseCode.GoingAway, 'server going away'];
    const closing = [...this.connections.values()].map(async (connection) => {
      if (drainMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * drainMs));
      if (connection.closed) return;
      // Saved before the socket closes: the client's resume on another node must find it.
      await this.finish(connection);
      connection.socket.close(code, reason);
    });
    await Promise.all(closing);
    await Promise.all(this.sessionSaves);
  }

  /** The REST layer's view of the connections. */
  readonly registry: ClientRegistry = {
    stats: () => this.stats(),
    clusterStats: async () => {
      const { presence } = this.deps;
      if (presence === undefined) return this.stats();
      try {
        const { totalClients, byUser, byProject } = await presence.read();
        return { totalClients, byUser, byProject };
      } catch (error) {
        this.deps.logger.warn({ err: error }, 'cluster presence unavailable; answering with this node only');
        return this.stats();
      }
    },
    identityOf: (clientId) => this.connections.get(clientId)?.identity,
    subscribe: async (clientId, taskId) => {
      const connection = this.connections.get(clientId);
      if (connection === undefined) return false;
      const refusal = await this.inOrder(connection, () => this.subscribe(connection, taskId, undefined));
      if (refusal !== undefined) throw new ProgressError(refusal.code, refusal.message);
      return true;
    },
    unsubscribe: async (clientId, taskId) => {
      const connection = this.connections.get(clientId);
      if (connection === undefined) return false;
      await this.inOrder(connection, () => this.unsubscribe(connection, taskId));
      return true;
    },
  };

  /** Gauges and counters of the live connections, for `server.metrics()`. */
  liveCounts(): { messagesSent: number; slowConsumers: number; pendingEvents: number } {
    let messagesSent = 0;
    let slowConsumers = 0;
    let pendingEvents = 0;
    for (const connection of this.connections.values()) {
      messagesSent += connection.messageCount;
      if (connection.slow) slowConsumers++;
      for (const sub of connection.subscriptions.values()) pendingEvents += sub.pendingCount;
    }
    return { messagesSent, slowConsumers, pendingEvents };
  }

  stats(): ConnectionStats {
    const byUser: Record<string, number> = {};
    const byProject: Record<string, number> = {};
    for (const { identity } of this.connections.values()) {
      byUser[identity.userId] = (byUser[identity.userId] ?? 0) + 1;
      if (identity.projectId !== '') byProject[identity.projectId] = (byProject[identity.projectId] ?? 0) + 1;
    }
    return { totalClients: this.connections.size, byUser, byProject };
  }

  // --- subscriptions ------------------------------------------------------------------

  /**
   * Runs a subscribe or unsubscribe after the connection's previous one has finished, so they
   * take effect, and are answered, in the order the client sent them: a subscribe waits for
   * `authorize` and storage, and an unsubscribe sent right after it must not overtake it.
   */
  private inOrder<T>(connection: Connection, operation: () => T | Promise<T>): Promise<T> {
    const previous = connection.pendingOperation;
    let result: Promise<T>;
    if (previous === undefined) {
      // Nothing in flight: run now, and make the next one wait only if this one is asynchronous.
      const value = operation();
      if (!(value instanceof Promise)) return Promise.resolve(value);
      result = value;
    } else {
      result = previous.then(operation);
    }
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    connection.pendingOperation = settled;
    void settled.then(() => {
      if (connection.pendingOperation === settled) connection.pendingOperation = undefined;
    });
    return result;
  }

  /** Subscribes, or refuses with an error sent to the client and returned to the caller. */
  private async subscribe(
    connection: Connection,
    taskId: string,
    since: number | undefined,
  ): Promise<Refusal | undefined> {
    const existing = connection.subscriptions.get(taskId);
    if (existing !== undefined) return this.resubscribe(connection, existing, since);
    const tooMany = this.checkSubscriptionCap(connection, taskId);
    if (tooMany !== undefined) return tooMany;
    if (!(await this.deps.auth.authorize(connection.identity, taskId))) {
      return this.refuse(
        connection,
        taskId,
        'FORBIDDEN',
        `Not allowed to follow task ${JSON.stringify(taskId)}.`,
      );
    }
    if (connection.closed) return undefined;
    // The client may have subscribed again while `authorize` ran.
    const raced = connection.subscriptions.get(taskId);
    if (raced !== undefined) return this.resubscribe(connection, raced, since);
    const stillTooMany = this.checkSubscriptionCap(connection, taskId);
    if (stillTooMany !== undefined) return stillTooMany;
    const sub = this.addSubscription(connection, taskId);
    if (logs(this.deps.logger, 'debug')) {
      this.deps.logger.debug(
        { clientId: connection.clientId, taskId: safeForLog(taskId) },
        'client subscribed to task',
      );
    }
    if (await this.whenLive(connection, sub)) await this.runCatchUp(connection, sub, since, true);
    return undefined;
  }

  private checkSubscriptionCap(connection: Connection, taskId: string): Refusal | undefined {
    const { maxSubscriptionsPerClient } = this.deps.options.limits;
    if (connection.subscriptions.size < maxSubscriptionsPerClient) return undefined;
    return this.refuse(
      connection,
      taskId,
      'TOO_MANY_SUBSCRIPTIONS',
      `A client may follow at most ${maxSubscriptionsPerClient} tasks; unsubscribe from one first.`,
    );
  }

  private refuse(connection: Connection, taskId: string, code: ErrorCode, message: string): Refusal {
    this.sendError(connection, taskId, code, message);
    return { code, message };
  }

  /** Subscribing again: with `since`, replay from there (the client found a gap). */
  private async resubscribe(
    connection: Connection,
    sub: Subscription,
    since: number | undefined,
  ): Promise<undefined> {
    if (since === undefined) {
      connection.send(subscribedFrame(connection, sub.taskId));
      return undefined;
    }
    sub.rewindTo = Math.min(since, sub.rewindTo ?? since);
    if (sub.replaying) return undefined;
    // Catch up from where the subscription is (normally nothing), then handle the rewind.
    sub.replaying = true;
    await this.runCatchUp(connection, sub, sub.cursor, false);
    return undefined;
  }

  private unsubscribe(connection: Connection, taskId: string): void {
    const sub = connection.subscriptions.get(taskId);
    if (sub !== undefined) {
      connection.subscriptions.delete(taskId);
      this.removeSubscription(sub);
    }
    connection.send(JSON.stringify(unsubscribedMessage(taskId, [...connection.subscriptions.keys()])));
  }

  private restoreSubscription(connection: Connection, taskId: string, cursor: number): void {
    const sub = this.addSubscription(connection, taskId);
    void this.whenLive(connection, sub).then(async (live) => {
      if (live) await this.runCatchUp(connection, sub, cursor, false);
    });
  }

  private addSubscription(connection: Connection, taskId: string): Subscription {
    const sub = new Subscription(
      taskId,
      connection,
      this.subscriptionOwner,
      this.deps.options.limits.maxPendingEventsPerSubscription,
    );
    connection.subscriptions.set(taskId, sub);
    let task = this.tasks.get(taskId);
    if (task === undefined) {
      task = { subs: new Set(), ready: this.deps.bus.subscribe(taskId) };
      this.tasks.set(taskId, task);
    }
    task.subs.add(sub);
    return sub;
  }

  /**
   * Resolves `true` once the bus delivers the task's events to this process, or `false`
   * (after telling the client and dropping the subscription) when the bus could not subscribe.
   */
  private async whenLive(connection: Connection, sub: Subscription): Promise<boolean> {
    try {
      await this.tasks.get(sub.taskId)?.ready;
      return true;
    } catch (error) {
      // The bus could not subscribe: forget the task so that the next subscribe tries again.
      this.deps.logger.error({ err: error, taskId: safeForLog(sub.taskId) }, 'bus subscribe failed');
      if (this.tasks.get(sub.taskId)?.subs.has(sub)) this.tasks.delete(sub.taskId);
      if (connection.subscriptions.get(sub.taskId) === sub) connection.subscriptions.delete(sub.taskId);
      sub.closed = true;
      if (!connection.closed) {
        this.sendError(
          connection,
          sub.taskId,
          'STORAGE_UNAVAILABLE',
          'Live delivery is unavailable right now; subscribe again later.',
        );
      }
      return false;
    }
  }

  private removeSubscription(sub: Subscription): void {
    sub.closed = true;
    const task = this.tasks.get(sub.taskId);
    if (task === undefined) return;
    task.subs.delete(sub);
    if (task.subs.size === 0) {
      this.tasks.delete(sub.taskId);
      void this.deps.bus
        .unsubscribe(sub.taskId)
        .catch((error) => this.deps.logger.warn({ err: error }, 'bus unsubscribe failed'));
    }
  }

  /**
   * The framed bytes of a live event. Fan-out hands one message to every subscriber in a row,
   * so a one-entry cache frames each broadcast once.
   */
  private wireOf(message: BusMessage): Uint8Array {
    if (this.lastWire?.message !== message)
      this.lastWire = { message, wire: this.deps.frameTexts([message.frame]) };
    return this.lastWire.wire;
  }

  private fanOut(message: BusMessage): void {
    const task = this.tasks.get(message.taskId);
    if (task === undefined) return;
    for (const sub of task.subs) sub.deliver(message);
    if (message.publishedAtMs !== undefined)
      this.deps.metrics.deliveryLatency.observe(Date.now() - message.publishedAtMs);
  }

  /** The bus may have lost messages: every idle subscription checks storage for newer events. */
  private resyncAll(): void {
    for (const connection of this.connections.values()) {
      for (const sub of connection.subscriptions.values()) {
        if (sub.replaying) continue;
        sub.replaying = true;
        void this.runCatchUp(connection, sub, sub.cursor, false);
      }
    }
  }

  /**
   * Replays what the subscription missed from storage, then releases the live events held
   * meanwhile, in order. `reply` sends the `subscribed` answer first.
   */
  private async runCatchUp(
    connection: Connection,
    sub: Subscription,
    since: number | undefined,
    reply: boolean,
  ): Promise<void> {
    let from = since;
    let answer = reply;
    try {
      for (;;) {
        const plan = await this.planCatchUp(sub.taskId, from);
        if (sub.closed || connection.closed) return;
        if (answer || plan.recovered === false) {
          connection.sendAll([subscribedFrame(connection, sub.taskId, plan.recovered), ...plan.frames]);
        } else connection.sendAll(plan.frames);
        answer = false;
        sub.cursor = plan.cursor;
        sub.baseCursor ??= plan.recovered === false || from === undefined ? plan.cursor : from;
        const rewind = sub.rewindTo;
        sub.rewindTo = undefined;
        if (rewind !== undefined && !(await this.fillGap(connection, sub, rewind))) {
          from = rewind;
          answer = true;
          continue;
        }
        const pending = sub.takePending();
        if (pending === undefined) {
          from = sub.cursor;
          continue;
        }
        sub.replaying = false;
        for (const message of pending) sub.deliver(message);
        return;
      }
    } catch (error) {
      this.logStorageError(error, 'catch-up');
      if (connection.closed || sub.closed) return;
      connection.subscriptions.delete(sub.taskId);
      this.removeSubscription(sub);
      this.sendError(
        connection,
        sub.taskId,
        'STORAGE_UNAVAILABLE',
        'Could not load the task from storage; subscribe again later.',
      );
    }
  }

  /**
   * The client asked for events after `since` on a subscription that already carries events
   * from `baseCursor` on. At `baseCursor` itself (a resumed client that lost nothing in
   * flight) this connection carries everything the client lacks: it is answered at once,
   * without storage. Below it, only `since + 1 .. baseCursor` is sent, which this connection
   * never carried (lost in flight with the previous socket), instead of replaying everything
   * again; the client's sequencer puts them before the events it holds. `false` when the
   * rewind needs a full replay (it reaches into what this connection carried, or history is
   * trimmed).
   */
  private async fillGap(connection: Connection, sub: Subscription, since: number): Promise<boolean> {
    const base = sub.baseCursor ?? 0;
    if (since > base) return false;
    if (since === base) {
      connection.send(subscribedFrame(connection, sub.taskId, true));
      return true;
    }
    const events = await this.deps.storage.getHistory(sub.taskId, { afterSeq: since, limit: base - since });
    if (events.length !== base - since || events[0]?.seq !== since + 1) return false;
    if (sub.closed || connection.closed) return true;
    // Built after the await: the answer lists the subscriptions the connection has now.
    connection.sendAll([subscribedFrame(connection, sub.taskId, true), ...events.map(encodeTaskEvent)]);
    sub.baseCursor = since;
    return true;
  }

  private async planCatchUp(taskId: string, since: number | undefined): Promise<CatchUpPlan> {
    const { storage } = this.deps;
    if (since === undefined) {
      const snapshot = await storage.getSnapshot(taskId);
      return {
        frames: snapshot === null ? [] : [encodeSnapshot(snapshot)],
        cursor: snapshot?.seq ?? 0,
        recovered: undefined,
      };
    }
    const limit = this.deps.options.limits.maxReplayEvents;
    // Snapshot first, then history: every event up to the snapshot's seq is committed by then,
    // so history starting past since + 1 means trimmed. Read in parallel, an append landing
    // between the two reads looked like trimmed history (a false `recovered: false`).
    const snapshot = await storage.getSnapshot(taskId);
    const events =
      snapshot === null || snapshot.seq <= since
        ? []
        : await storage.getHistory(taskId, { afterSeq: since, limit });
    if (snapshot === null) return { frames: [], cursor: 0, recovered: since === 0 };
    if (snapshot.seq === since) return { frames: [], cursor: since, recovered: true };
    if (snapshot.seq < since) {
      // The client knows seqs the storage never gave (it was reset): start over from its state.
      return { frames: [encodeSnapshot(snapshot)], cursor: snapshot.seq, recovered: false };
    }
    const first = events[0];
    const last = events.at(-1);
    if (first === undefined || last === undefined || first.seq !== since + 1 || events.length >= limit) {
      // Trimmed or too far behind: the latest state instead, and say so.
      return { frames: [encodeSnapshot(snapshot)], cursor: snapshot.seq, recovered: false };
    }
    return { frames: events.map(encodeTaskEvent), cursor: last.seq, recovered: true };
  }

  // --- connection lifecycle ---------------------------------------------------------------

  /** Another socket resumed this session: hand its position over and close the old socket. */
  private takeOver(old: Connection): void {
    old.replaced = true;
    void this.finish(old);
    old.socket.close(CloseCode.Normal, 'session resumed by another connection');
  }

  private kill(connection: Connection, code: number, reason: string): void {
    if (connection.closed) return;
    this.deps.logger.warn(
      { clientId: redactClientId(connection.clientId), code },
      `closing connection: ${reason}`,
    );
    void this.finish(connection);
    connection.socket.close(code, reason);
  }

  /** Idempotent: forgets the connection, saves its session, writes the audit record. */
  private finish(connection: Connection): Promise<void> {
    if (connection.closed) return Promise.resolve();
    const now = this.deps.now();
    const cursors = connection.cursors();
    connection.closed = true;
    connection.dispose();
    this.deps.metrics.messagesSentByClosed += connection.messageCount;
    for (const sub of connection.subscriptions.values()) this.removeSubscription(sub);
    if (this.connections.get(connection.clientId) === connection)
      this.connections.delete(connection.clientId);
    this.deps.presence?.changed();
    this.audit(connection, now);
    if (logs(this.deps.logger, 'info'))
      this.deps.logger.info(
        { clientId: redactClientId(connection.clientId) },
        'WebSocket client disconnected',
      );
    if (connection.replaced) return Promise.resolve();
    const session: SessionRecord = {
      clientId: connection.clientId,
      userId: connection.identity.userId,
      projectId: connection.identity.projectId,
      subscriptions: cursors,
      lastActiveAtMs: connection.lastActiveAtMs,
      expiresAtMs: now + this.deps.options.sessionTtlMs,
    };
    const saved = this.deps.storage
      .saveSession(session)
      .catch((error) => this.logStorageError(error, 'saveSession'));
    this.sessionSaves.add(saved);
    void saved.finally(() => this.sessionSaves.delete(saved));
    return saved;
  }

  private audit(connection: Connection, disconnectedAtMs: number | null): void {
    void this.deps.storage
      .recordConnection({
        clientId: connection.clientId,
        userId: connection.identity.userId,
        projectId: connection.identity.projectId,
        connectedAtMs: connection.connectedAtMs,
        disconnectedAtMs,
        lastActiveAtMs: connection.lastActiveAtMs,
        messageCount: connection.messageCount,
        ipAddress: connection.info.ip.slice(0, 50),
        userAgent: connection.info.userAgent.slice(0, 500),
      })
      .catch((error) => this.logStorageError(error, 'recordConnection'));
  }

  private sendError(connection: Connection, taskId: string, code: string, text: string): void {
    connection.send(JSON.stringify(clientErrorMessage(taskId, code, text, this.deps.now())));
  }

  private logStorageError(error: unknown, operation: string): void {
    if (this.closing && operation === 'recordConnection') return;
    this.deps.logger.error({ err: error, operation }, 'storage operation failed');
  }
}
