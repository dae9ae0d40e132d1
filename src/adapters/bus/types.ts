/**
 * The fan-out contract between processes. A publisher puts each stored event on the bus once;
 * every server process whose clients follow the task gets it. Delivery is at-most-once and
 * may reorder across processes: the hub puts events back in `seq` order and fills any gap
 * from storage, so a bus never needs its own history.
 */
import type { TaskEventType } from '../../shared/protocol.js';

/** One stored event on its way to subscribers. */
export interface BusMessage {
  readonly taskId: string;
  readonly seq: number;
  readonly type: TaskEventType;
  /** The serialised wire message, built once by the publisher and sent to sockets as is. */
  readonly frame: string;
  /**
   * When the publisher stored the event (epoch ms), for the delivery-latency metric. A bus
   * that crosses processes should carry it; without it no latency is recorded.
   */
  readonly publishedAtMs?: number;
}

export interface Bus {
  /** Delivers the message to every process subscribed to its task, this one included. */
  publish(message: BusMessage): Promise<void>;
  /** Starts delivering the task's messages to the listener; resolves once delivery is live. */
  subscribe(taskId: string): Promise<void>;
  /** Stops delivering the task's messages to this process. */
  unsubscribe(taskId: string): Promise<void>;
  /** Sets the one listener that receives every message of the subscribed tasks. */
  onMessage(listener: (message: BusMessage) => void): void;
  /**
   * Sets a listener called when messages may have been lost (the bus reconnected): the hub
   * then catches every subscription up from storage by `seq`.
   */
  onResync(listener: () => void): void;
  close(): Promise<void>;
}

/** One node's numbers or the cluster's; the shape of the server's `ConnectionStats`. */
export interface PresenceStats {
  readonly totalClients: number;
  readonly byUser: Readonly<Record<string, number>>;
  readonly byProject: Readonly<Record<string, number>>;
}

/** What a server needs for cluster-wide `/websocket/stats` and `/progress/active`. */
export interface ClusterPresence {
  /** This node's id in Redis. */
  readonly nodeId: string;
  /**
   * Starts reporting this node's numbers, read through `read`: now, shortly after each
   * `changed()`, and every `refreshMs`. A failed report is logged and retried at the next one.
   */
  start(read: () => PresenceStats): void;
  /** This node's numbers changed (a client connected or left); reports within `reportDelayMs`. */
  changed(): void;
  /**
   * The cluster's numbers: the sum over every node whose entry has not expired.
   * @throws when Redis is unreachable (the caller may fall back to its own numbers).
   */
  read(): Promise<PresenceStats & { readonly nodes: number }>;
  /** Stops reporting and deletes this node's entry, so a graceful shutdown drops out at once. */
  close(): Promise<void>;
}
