/** Tables (what is reported), groups (what runs in one session), and the variants they compare. */
import type { Session } from '../lib/session.js';
import type { ServerConfig, SystemName } from '../systems/types.js';

/** One thing measured in a run, by name; `NaN` when it could not be measured. */
export type Metrics = Record<string, number>;

export interface Variant {
  /** Key in results, e.g. `raw-ws` or `realtime-progress+sqlite`. */
  readonly key: string;
  readonly label: string;
  readonly system: SystemName;
  readonly config: ServerConfig;
  /** Whether the system's clients get missed events replayed after a reconnect (scenario E). */
  readonly replays: boolean;
}

export interface MetricSpec {
  readonly key: string;
  readonly label: string;
  readonly unit: string;
  readonly better: 'lower' | 'higher';
  readonly digits: number;
}

/** One reported table: a scenario of the issue and the variants it compares. */
export interface Table {
  /** `A`, `B`, ...; `--only` filters on the letter. */
  readonly letter: string;
  readonly id: string;
  readonly title: string;
  readonly variants: readonly Variant[];
  /** The variant every ratio is taken against. */
  readonly baseline: string;
  readonly metrics: readonly MetricSpec[];
}

/**
 * Tables measured in one session per variant, because they share their setup: (B) then (A)
 * and (F) on the same 1,000 clients; (C)'s 5,000 idle clients then carry (A) at 5,000; (D) is
 * the setup of (E)'s clients. Sharing keeps a full run under ten minutes.
 */
export interface Group {
  readonly tables: readonly Table[];
  /** Every variant any of the tables compares, in the order each round runs them. */
  readonly variants: readonly Variant[];
  /** Sockets each of the two processes holds at once (checked against `ulimit -n`). */
  readonly clients: number;
  /** One session: measures the tables `wanted` accepts, returned by table id. */
  run(
    session: Session,
    variant: Variant,
    wanted: (tableId: string) => boolean,
  ): Promise<Record<string, Metrics>>;
}

const MEMORY: ServerConfig = { storage: 'memory', recovery: false };

export const RAW_WS: Variant = {
  key: 'raw-ws',
  label: 'raw ws',
  system: 'raw-ws',
  config: MEMORY,
  replays: false,
};
export const OURS: Variant = {
  key: 'realtime-progress',
  label: 'realtime-progress',
  system: 'realtime-progress',
  config: MEMORY,
  replays: true,
};
export const SOCKET_IO: Variant = {
  key: 'socketio',
  label: 'Socket.IO 4.8',
  system: 'socketio',
  config: MEMORY,
  replays: true,
};
export const OURS_SQLITE: Variant = {
  ...OURS,
  key: 'realtime-progress+sqlite',
  label: 'realtime-progress (SQLite)',
  config: { storage: 'sqlite', recovery: false },
};

/** The three systems, in the order every round runs them. */
export const SYSTEMS: readonly Variant[] = [RAW_WS, OURS, SOCKET_IO];
