/**
 * Connecting a run's clients, measured: (D) connection setup is server CPU time per
 * connection (connect, greeting, subscribe to one task, confirmation), connections per second
 * and per-client setup latency, `concurrency` clients at a time.
 */
import { sleep } from '../lib/clock.js';
import type { Session } from '../lib/session.js';
import type { MetricSpec, Metrics } from './types.js';

export interface ConnectParams {
  readonly clients: number;
  readonly tasks: number;
  readonly concurrency: number;
  readonly reconnect: boolean;
}

export const CONNECT_METRICS: readonly MetricSpec[] = [
  { key: 'cpuUsPerConn', label: 'server CPU per connection', unit: 'us', better: 'lower', digits: 0 },
  { key: 'connPerSec', label: 'connections/s', unit: '/s', better: 'higher', digits: 0 },
  { key: 'setupP50Ms', label: 'setup p50', unit: 'ms', better: 'lower', digits: 2 },
  { key: 'setupP99Ms', label: 'setup p99', unit: 'ms', better: 'lower', digits: 2 },
];

/** Time for work the server finishes after the last client's subscription was confirmed. */
const SETTLE_MS = 100;

/** Connects and subscribes every client; `open` is how many made it. */
export async function connectClients(
  session: Session,
  params: ConnectParams,
): Promise<{ open: number; metrics: Metrics }> {
  const { server, load } = session;
  const cpu0 = await server.call('cpu', null);
  const connected = await session.profiled(`connect-${params.clients}`, () =>
    load.call(
      'connect',
      {
        port: session.port,
        count: params.clients,
        tasks: params.tasks,
        concurrency: params.concurrency,
        reconnect: params.reconnect,
      },
      120_000,
    ),
  );
  await sleep(SETTLE_MS);
  const cpu1 = await server.call('cpu', null);
  const open = params.clients - connected.failed;
  if (open === 0) throw new Error('no client could connect');
  return {
    open,
    metrics: {
      cpuUsPerConn: (cpu1.cpuUs - cpu0.cpuUs) / open,
      connPerSec: open / (connected.ms / 1_000),
      setupP50Ms: connected.connectP50Ms,
      setupP99Ms: connected.connectP99Ms,
      failedConnections: connected.failed,
    },
  };
}
