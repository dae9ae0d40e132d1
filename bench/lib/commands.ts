/** The IPC vocabulary between the driver, the bench server process and the load generator. */
import type { ServerConfig, SystemName } from '../systems/types.js';

export interface CpuSample {
  /** `process.cpuUsage()` user + system, microseconds. */
  readonly cpuUs: number;
  readonly atMs: number;
}

export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export type ServerCommands = {
  /** Publishes round-robin over `tasks` while fewer than `windowDeliveries` are unacknowledged. */
  startClosedLoop: {
    /** `ackBase`: the load generator's delivery total when the loop starts. */
    args: { tasks: number; subscribersPerTask: number; windowDeliveries: number; ackBase: number };
    result: null;
  };
  /** Publishes `eventsPerSecond` round-robin over `tasks`, evenly spaced. */
  startRate: { args: { tasks: number; eventsPerSecond: number }; result: null };
  stopPublishing: { args: null; result: { published: number; failed: number } };
  /** One event per task, resolved once all are stored. */
  publishRound: { args: { tasks: number }; result: { failed: number } };
  cpu: { args: null; result: CpuSample };
  /** Memory after full garbage collections. */
  memory: { args: null; result: MemorySample };
  /** Full garbage collections, so that a setup's garbage is not collected inside the next measured phase. */
  settle: { args: null; result: null };
  /**
   * Destroys every upgraded socket, waits until the system has noticed, then publishes one
   * event per task (the events the clients must get replayed).
   */
  drop: { args: { tasks: number }; result: { dropAtMs: number; noticedMs: number } };
  /** Writes a V8 heap snapshot (after a GC) to `path`: for looking into (C). */
  heapSnapshot: { args: { path: string }; result: null };
  /** Starts the V8 CPU profiler in the server process. */
  profileStart: { args: null; result: null };
  /** Stops it and writes the `.cpuprofile` to `path`. */
  profileStop: { args: { path: string }; result: null };
  exit: { args: null; result: null };
};

export type LoadCommands = {
  /** Opens `count` clients, client `i` subscribed to task `i % tasks`; resolves when all are subscribed. */
  connect: {
    args: { port: number; count: number; tasks: number; concurrency: number; reconnect: boolean };
    result: { ms: number; failed: number; connectP50Ms: number; connectP99Ms: number };
  };
  /** Connects the ack channel to the server's closed-loop publisher (see ack-channel.ts). */
  ackTo: { args: { port: number }; result: null };
  /** Deliveries and latency since the previous mark; starts a new interval. */
  mark: {
    args: null;
    /** `delivered`: since the previous mark; `total`: since the start. */
    result: LatencySummary & { atMs: number; delivered: number; total: number; cpuUs: number };
  };
  /** Resolves once `count` deliveries arrived in total since the last mark (bounded by `timeoutMs`). */
  waitDelivered: { args: { count: number; timeoutMs: number }; result: { delivered: number } };
  /** Starts watching for the storm: clears each client's restored/replayed times. */
  armStorm: { args: null; result: { armedAtMs: number } };
  /** Waits until every client is restored (and, if asked, got an event sent after `armedAtMs`). */
  waitStorm: {
    args: { requireReplay: boolean; timeoutMs: number };
    result: { lastDoneAtMs: number; restored: number; replayed: number; done: number; clients: number };
  };
  profileStart: { args: null; result: null };
  profileStop: { args: { path: string }; result: null };
  exit: { args: null; result: null };
};

/** Command-line arguments of the two child scripts. */
export interface ServerProcessArgs {
  readonly system: SystemName;
  readonly config: ServerConfig;
}
