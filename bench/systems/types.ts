/**
 * The interface every benchmarked system implements twice: a server side (run in the bench
 * server process, on an `http.Server` the harness owns) and a client side (run, many times
 * over, in the load generator process).
 */
import type { Server } from 'node:http';

export type SystemName = 'raw-ws' | 'realtime-progress' | 'socketio';

/** WebSocket endpoints, shared by both halves (Socket.IO keeps its own `/socket.io/`). */
export const RAW_WS_PATH = '/ws';
export const PROGRESS_PATH = '/api/v1/ws';

export interface ServerConfig {
  /** Storage of realtime-progress; the other systems keep nothing. */
  readonly storage: 'memory' | 'sqlite';
  /** Turns on what a system has for resuming after a drop (Socket.IO's connection state recovery). */
  readonly recovery: boolean;
}

/** One progress update, in the shape `ProgressServer.publish` takes. `metadata.t` is the send time. */
export interface BenchUpdate {
  readonly progress: number;
  readonly currentStep: string;
  readonly totalSteps: number;
  readonly completedSteps: number;
  readonly message: string;
  readonly metadata: { readonly t: number };
}

export interface SystemServer {
  /** Publishes one event to the task's subscribers; a promise settles when the system says it is done. */
  publish(taskId: string, update: BenchUpdate): undefined | Promise<unknown>;
  /** Connections the system currently counts as open. */
  clientCount(): number;
  close(): Promise<void>;
}

export type CreateSystemServer = (httpServer: Server, config: ServerConfig) => Promise<SystemServer>;

/** What a client tells the load generator. */
export interface ClientHooks {
  /** A task event arrived; `sentAtMs` is the publisher's clock reading embedded in it. */
  event(sentAtMs: number): void;
  /** After a drop: the client is connected again and its subscriptions are in place. */
  restored(): void;
}

export interface BenchClient {
  /** Resolves once the server confirmed the subscription. */
  subscribe(taskId: string): Promise<void>;
  close(): void;
}

export interface ConnectOptions {
  readonly port: number;
  readonly hooks: ClientHooks;
  /** Reconnect after the server drops the connection (scenario E). */
  readonly reconnect: boolean;
}

/** Resolves once the client is connected (and greeted, where the protocol greets). */
export type ConnectClient = (options: ConnectOptions) => Promise<BenchClient>;

/**
 * The reconnect delay every system uses after a drop: uniform-ish in [50, 250] ms, the same
 * spread for all three so that the storm measures servers, not backoff policies.
 */
export const RECONNECT = { minDelayMs: 50, maxDelayMs: 250 } as const;

/** How long a client waits for a connection or a subscription before the attempt counts as failed. */
export const CLIENT_TIMEOUT_MS = 10_000;
