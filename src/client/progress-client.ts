/**
 * `ProgressClient`: follows tasks over one WebSocket and hands the app each task's events in
 * order, once, across reconnects (DESIGN.md guarantees 1-3 on the client side).
 *
 * Recovery works from what the client itself has seen, never from what the server believes it
 * sent: on every new connection each task is subscribed again with `since` = its last seen
 * `seq`. A resumed session replays from the server's position, which can be ahead of the
 * client's when events died in flight; the `since` request rewinds it, and the sequencer
 * drops what arrives twice.
 */
import { EventEmitter } from 'eventemitter3';
import { parseFrame, parseJson } from '../shared/frames.js';
import type {
  ProgressMessage,
  ServerMessage,
  SubscribeMessage,
  TaskEventMessage,
  UnsubscribeMessage,
} from '../shared/protocol.js';
import { Connection, type ConnectionState, NORMAL_CLOSURE } from './connection.js';
import { clientError } from './errors.js';
import type { ProgressClientEvents } from './events.js';
import { fetchHistory, type HistoryOptions, type HistoryResult } from './history.js';
import {
  type ProgressClientOptions,
  type QueryParams,
  type ResolvedClientOptions,
  resolveClientOptions,
} from './options.js';
import { loadSession, type PersistedTask, persistKey, saveSession } from './persistence.js';
import { Sequencer } from './sequencer.js';
import { applySnapshot, applyTaskEvent, initialTaskState, isTerminal, type TaskState } from './task-state.js';

type ClientAction = (SubscribeMessage | UnsubscribeMessage)['action'];

/** Persisting waits this long so that a burst of events costs one storage write. */
const PERSIST_DELAY_MS = 200;
/** Server error codes after which a subscription cannot succeed by retrying. */
const REFUSED_SUBSCRIPTION = new Set(['FORBIDDEN', 'TOO_MANY_SUBSCRIPTIONS', 'INVALID_TASK_ID']);

/** What `subscribe()` returns. */
export interface TaskSubscription {
  readonly taskId: string;
  /** The task's latest known state; it changes as events arrive. */
  readonly state: TaskState;
  unsubscribe(): void;
}

export interface SubscribeOptions {
  /**
   * The last `seq` the app already has (from its own store, or the REST API): the server
   * replays every event after it. Without it the first answer is the task's latest state.
   */
  since?: number;
}

interface TrackedTask {
  state: TaskState;
  readonly sequencer: Sequencer;
  /** The server knows this subscription, so a new socket asks for `since` rather than a snapshot. */
  confirmed: boolean;
  /** The server said a replay was partial: the snapshot that follows is the new baseline. */
  expectBaseline: boolean;
}

/**
 * Follows task progress over WebSocket, with reconnects, heartbeat, session resume and
 * gapless per-task delivery.
 * @example
 * const client = new ProgressClient({ url: 'wss://example.com/api/v1/ws', userId: 'u1' });
 * client.on('progress', ({ taskId, payload }) => render(taskId, payload.progress));
 * client.on('complete', ({ taskId, status }) => done(taskId, status));
 * client.subscribe('task-001');
 */
export class ProgressClient extends EventEmitter<ProgressClientEvents> {
  readonly #options: ResolvedClientOptions;
  readonly #connection: Connection;
  readonly #tasks = new Map<string, TrackedTask>();
  readonly #persistKey: string;
  /** Tasks read from persisted storage, waiting for the app to subscribe to them again. */
  #restored: Record<string, PersistedTask> = {};
  #currentClientId: string | undefined;
  /** The id asked for with `old_client_id` on the current socket. */
  #resumingId: string | undefined;
  #greeted = false;
  #persistTimer: ReturnType<typeof setTimeout> | undefined;

  /** @throws {TypeError} when an option is invalid (see {@link ProgressClientOptions}). */
  constructor(options: ProgressClientOptions) {
    super();
    this.#options = resolveClientOptions(options);
    const { url, userId, projectId, persist, persistTtlMs } = this.#options;
    this.#persistKey = persistKey(url, userId, projectId);
    const saved = persist === undefined ? undefined : loadSession(persist, this.#persistKey, persistTtlMs);
    if (saved !== undefined) {
      this.#currentClientId = saved.clientId;
      this.#restored = { ...saved.tasks };
    }
    this.#connection = new Connection(this.#options, {
      url: () => {
        const { params } = this.#options;
        return typeof params === 'function'
          ? this.#params().then((p) => this.#socketUrl(p))
          : this.#socketUrl(params);
      },
      urlFailed: (cause) => {
        const message = `params() failed: ${cause}`;
        this.#fire('error', { source: 'client', taskId: '', code: 'PARAMS_FAILED', message, cause });
        return message;
      },
      frame: (data) => this.#receive(data),
      transition: (from, to, code, reason) => {
        if (to === 'closed') this.#persistNow();
        this.#fire('state', { from, to, code, reason });
        if (to === 'closed' || (to === 'reconnecting' && from === 'open')) {
          this.#fire('disconnected', { code, reason, willReconnect: to === 'reconnecting' });
        }
      },
      reconnecting: (attempt, delayMs, code, reason) =>
        this.#fire('reconnecting', { attempt, delayMs, code, reason }),
      lost: (code) => {
        // The server ends a session normally only when another socket resumed it (a duplicated
        // tab shares sessionStorage): come back as a new session instead of taking it back.
        if (code === NORMAL_CLOSURE) this.#currentClientId = undefined;
      },
      pagehide: () => this.#persistNow(),
    });
    if (this.#options.autoConnect) this.#connection.connect();
  }

  /** The connection state: `idle`, `connecting`, `open`, `reconnecting` or `closed`. */
  get state(): ConnectionState {
    return this.#connection.state;
  }

  /** The server's id for this client's session; `undefined` before the first connection. */
  get clientId(): string | undefined {
    return this.#currentClientId;
  }

  /** Connects (after `autoConnect: false`, or again after `close()`). */
  connect(): void {
    this.#connection.connect();
  }

  /**
   * Closes the connection and stops reconnecting; no socket, timer or listener is left.
   * Subscriptions are kept: `connect()` follows them again.
   */
  close(): void {
    this.#connection.close();
  }

  /**
   * Follows a task. Works in any state: the subscription is sent once the connection is open,
   * and again on every reconnect. Subscribing to a followed task returns it unchanged.
   * @throws {ClientError} `INVALID_TASK_ID` unless `taskId` is a string of 1 to 100 characters.
   */
  subscribe(taskId: string, options: SubscribeOptions = {}): TaskSubscription {
    if (typeof taskId !== 'string' || taskId.length === 0 || taskId.length > 100) {
      throw clientError(
        'INVALID_TASK_ID',
        `taskId must be a string of 1 to 100 characters, got ${JSON.stringify(taskId)}.`,
      );
    }
    let task = this.#tasks.get(taskId);
    if (task === undefined) {
      const restored = this.#restored[taskId];
      delete this.#restored[taskId];
      const since = options.since ?? (restored?.confirmed ? restored.state.seq : undefined);
      const state = restored?.state ?? initialTaskState(taskId, since);
      task = {
        state,
        sequencer: new Sequencer(since ?? 0),
        confirmed: since !== undefined,
        expectBaseline: false,
      };
      this.#tasks.set(taskId, task);
      if (this.#connection.state === 'open') this.#sendSubscribe(taskId, task);
      this.#schedulePersist();
    }
    const tracked = task;
    return {
      taskId,
      get state() {
        return tracked.state;
      },
      unsubscribe: () => {
        if (this.#tasks.get(taskId) === tracked) this.unsubscribe(taskId);
      },
    };
  }

  /** Stops following a task. */
  unsubscribe(taskId: string): void {
    if (!this.#tasks.delete(taskId)) return;
    this.#send({ action: 'unsubscribe', task_id: taskId });
    this.#schedulePersist();
  }

  /** The latest known state of a followed task. */
  task(taskId: string): TaskState | undefined {
    return this.#tasks.get(taskId)?.state;
  }

  /** The followed tasks. */
  subscriptions(): string[] {
    return [...this.#tasks.keys()];
  }

  /**
   * Reads a task's stored events over REST (`restUrl`, or derived from `url`).
   * @throws {ClientError} see {@link fetchHistory}.
   */
  async history(taskId: string, options?: HistoryOptions): Promise<HistoryResult> {
    return fetchHistory(this.#options.restUrl, this.#query(await this.#params()), taskId, options);
  }

  // --- wire ---------------------------------------------------------------------------

  /** `params`, called when it is a function (a throw becomes a rejection). */
  async #params(): Promise<QueryParams> {
    const { params } = this.#options;
    return typeof params === 'function' ? params() : params;
  }

  /** The query of a WebSocket or REST request: `params` and the identity (unset values are left out). */
  #query(params: QueryParams): Record<string, string | undefined> {
    return { ...params, user_id: this.#options.userId, project_id: this.#options.projectId };
  }

  #socketUrl(params: QueryParams): string {
    const url = new URL(this.#options.url);
    this.#resumingId = this.#currentClientId;
    // No `batch=1`: one message per frame lets the server frame a broadcast once for all its
    // recipients (the client still splits batched frames from servers that send them).
    const query = { ...this.#query(params), old_client_id: this.#resumingId };
    for (const [name, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(name, value);
    return url.href;
  }

  /** Sends a subscribe or unsubscribe (`since: undefined` is left out by JSON). */
  #send(message: { action: ClientAction; task_id: string; since?: number | undefined }): boolean {
    return this.#connection.send(JSON.stringify(message));
  }

  /**
   * Asks for the task from its last seen `seq` when the server knows it, else for its latest
   * state. The replay asked for covers any gap this socket shows until it has arrived, and
   * replaces requests that died with an earlier socket.
   */
  #sendSubscribe(taskId: string, task: TrackedTask): void {
    const since = task.confirmed ? task.sequencer.last : undefined;
    const sent = this.#send({ action: 'subscribe', task_id: taskId, since });
    task.sequencer.repairing = sent && since !== undefined;
  }

  #receive(data: string): void {
    // One message per frame is the rule: parsed as is, with no array or wrapper per message.
    // Batched (`\n`-separated) and pretty-printed frames go through `parseFrame`.
    if (!data.includes('\n')) this.#accept(parseJson(data));
    else for (const parsed of parseFrame(data)) this.#accept(parsed?.value);
  }

  #accept(message: unknown): void {
    if (
      typeof message === 'object' &&
      message !== null &&
      typeof (message as ServerMessage).type === 'string'
    )
      this.#handle(message as ServerMessage);
  }

  #handle(message: ServerMessage): void {
    switch (message.type) {
      case 'connected':
        this.#greeting(message.payload.client_id, false, undefined, []);
        break;
      case 'reconnected': {
        const { client_id, resumed, reason, subscribed } = message.payload;
        this.#greeting(client_id, resumed === true, reason, Object.keys(subscribed ?? {}));
        break;
      }
      case 'subscribed': {
        const task = this.#tasks.get(message.task_id);
        if (task === undefined) break;
        task.confirmed = true;
        const { recovered } = message.payload;
        if (recovered === false) task.expectBaseline = true;
        this.#fire('subscribed', { taskId: message.task_id, recovered });
        break;
      }
      case 'progress':
      case 'status':
        this.#taskEvent(message);
        break;
      case 'error': {
        if ('seq' in message) {
          this.#taskEvent(message);
          break;
        }
        const { task_id: taskId, payload } = message;
        // The server keeps no subscription it refused: forget it rather than ask on every reconnect.
        if (REFUSED_SUBSCRIPTION.has(payload.code)) this.#tasks.delete(taskId);
        this.#fire('error', { source: 'server', taskId, code: payload.code, message: payload.error });
        break;
      }
      case 'unsubscribed':
      case 'pong':
        break;
    }
  }

  #greeting(clientId: string, resumed: boolean, reason: string | undefined, serverTasks: string[]): void {
    const first = !this.#greeted;
    const oldClientId = this.#resumingId;
    this.#greeted = true;
    this.#currentClientId = clientId;
    this.#connection.established();
    if (this.#connection.state !== 'open') return;
    for (const [taskId, task] of this.#tasks) {
      task.expectBaseline = false;
      this.#sendSubscribe(taskId, task);
    }
    // A resumed session may hold tasks the app let go of while it was away.
    for (const taskId of serverTasks)
      if (!this.#tasks.has(taskId)) this.#send({ action: 'unsubscribe', task_id: taskId });
    this.#schedulePersist();
    if (first) this.#fire('connected', { clientId, resumed });
    else
      this.#fire('reconnected', {
        clientId,
        oldClientId,
        resumed,
        reason,
        subscriptions: this.subscriptions(),
      });
  }

  #taskEvent(message: TaskEventMessage): void {
    const taskId = message.task_id;
    const task = this.#tasks.get(taskId);
    // Events of tasks no longer followed (an unsubscribe in flight) and seq-less ones from a seed server are skipped.
    if (task === undefined || typeof message.seq !== 'number') return;
    if (message.type === 'progress' && message.snapshot === true) {
      this.#snapshot(taskId, task, message);
      return;
    }
    task.confirmed = true;
    const { sequencer } = task;
    if (sequencer.next(message)) {
      this.#apply(taskId, task, message);
      this.#schedulePersist();
      return;
    }
    const { ready, askSince } = sequencer.push(message);
    if (askSince !== undefined) this.#send({ action: 'subscribe', task_id: taskId, since: askSince });
    this.#deliver(taskId, task, ready);
  }

  /**
   * The task's latest state: the answer to a first subscribe, or the new baseline after the
   * server said `recovered: false`. One the client is past is stale and ignored; one that
   * jumps over events the client had not seen is a partial recovery and is reported as such.
   */
  #snapshot(taskId: string, task: TrackedTask, message: ProgressMessage): void {
    const { sequencer } = task;
    const partial = task.expectBaseline || sequencer.last > 0;
    task.expectBaseline = false;
    if (message.seq <= sequencer.last) return;
    task.confirmed = true;
    const state = applySnapshot(task.state, message.seq, message.payload, !partial);
    task.state = state;
    const released = sequencer.rebase(message.seq);
    const { seq, payload } = message;
    if (partial) this.#fire('recovery', { taskId, recovered: false, seq, state });
    this.#fire('progress', { taskId, seq, payload, snapshot: true, coalescedFrom: undefined, state });
    this.#completeIfTerminal(taskId, seq, state);
    this.#deliver(taskId, task, released);
  }

  #deliver(taskId: string, task: TrackedTask, events: readonly TaskEventMessage[]): void {
    for (const event of events) {
      // A listener may have unsubscribed meanwhile.
      if (this.#tasks.get(taskId) !== task) return;
      this.#apply(taskId, task, event);
    }
    if (events.length > 0) this.#schedulePersist();
  }

  /** Hands one event, in order, to the app: the task's new state, then the event. */
  #apply(taskId: string, task: TrackedTask, event: TaskEventMessage): void {
    const state = applyTaskEvent(task.state, event);
    task.state = state;
    const { seq } = event;
    switch (event.type) {
      case 'progress':
        this.#fire('progress', {
          taskId,
          seq,
          payload: event.payload,
          snapshot: false,
          coalescedFrom: event.coalesced_from,
          state,
        });
        break;
      case 'status':
        this.#fire('status', { taskId, seq, payload: event.payload, state });
        this.#completeIfTerminal(taskId, seq, state);
        break;
      case 'error':
        this.#fire('error', { source: 'task', taskId, seq, payload: event.payload, state });
        break;
    }
  }

  /**
   * Emits without letting a throwing listener break delivery: the client keeps its state and
   * finishes the frame, and the error is re-raised in a microtask.
   */
  #fire<K extends keyof ProgressClientEvents>(
    event: K,
    payload: Parameters<ProgressClientEvents[K]>[0],
  ): void {
    try {
      (this.emit as (event: K, payload: unknown) => boolean)(event, payload);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  #completeIfTerminal(taskId: string, seq: number, state: TaskState): void {
    if (isTerminal(state.status)) {
      this.#fire('complete', {
        taskId,
        seq,
        status: state.status,
        error: state.error,
        result: state.result,
        state,
      });
    }
  }

  // --- persistence --------------------------------------------------------------------

  #schedulePersist(): void {
    if (this.#options.persist === undefined || this.#persistTimer !== undefined) return;
    this.#persistTimer = setTimeout(() => this.#persistNow(), PERSIST_DELAY_MS);
  }

  #persistNow(): void {
    if (this.#persistTimer !== undefined) clearTimeout(this.#persistTimer);
    this.#persistTimer = undefined;
    const storage = this.#options.persist;
    if (storage === undefined) return;
    const tasks: Record<string, PersistedTask> = {};
    for (const [taskId, task] of this.#tasks)
      tasks[taskId] = { state: task.state, confirmed: task.confirmed };
    saveSession(storage, this.#persistKey, { clientId: this.#currentClientId, savedAtMs: Date.now(), tasks });
  }
}
