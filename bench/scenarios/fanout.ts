/**
 * (A) and (F): fan-out throughput on clients already connected, one task each. The server
 * publishes as fast as delivery keeps up (a closed loop with a fixed number of deliveries in
 * flight). Measured after a warm-up: delivered events/s at the load generator, server CPU
 * time per delivered event, and delivery latency.
 */
import { sleep } from '../lib/clock.js';
import type { Session } from '../lib/session.js';
import type { MetricSpec, Metrics } from './types.js';

export interface FanoutParams {
  readonly clients: number;
  readonly tasks: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /**
   * Deliveries in flight. Enough to keep both processes busy across the ack round trip (a
   * loopback TCP hop), small enough that latency stays a measure of the system rather than
   * of a deep queue.
   */
  readonly windowDeliveries: number;
}

export const FANOUT_METRICS: readonly MetricSpec[] = [
  { key: 'eventsPerSec', label: 'delivered events/s', unit: '/s', better: 'higher', digits: 0 },
  { key: 'cpuUsPerEvent', label: 'server CPU per delivered event', unit: 'us', better: 'lower', digits: 2 },
  { key: 'serverCpuPct', label: 'server CPU', unit: '%', better: 'lower', digits: 0 },
  { key: 'loadCpuPct', label: 'load generator CPU', unit: '%', better: 'lower', digits: 0 },
  {
    key: 'loadCpuUsPerEvent',
    label: 'client CPU per delivered event',
    unit: 'us',
    better: 'lower',
    digits: 2,
  },
  { key: 'p50Ms', label: 'p50 latency', unit: 'ms', better: 'lower', digits: 2 },
  { key: 'p99Ms', label: 'p99 latency', unit: 'ms', better: 'lower', digits: 2 },
];

export async function runFanout(session: Session, params: FanoutParams): Promise<Metrics> {
  const { server, load } = session;
  await load.call('ackTo', { port: session.ackPort });
  const { total } = await load.call('mark', null);
  await server.call('startClosedLoop', {
    tasks: params.tasks,
    subscribersPerTask: params.clients / params.tasks,
    windowDeliveries: params.windowDeliveries,
    ackBase: total,
  });
  await sleep(params.warmupMs);
  const [cpu0, mark0] = await Promise.all([server.call('cpu', null), load.call('mark', null)]);
  await session.profiled(`fanout-${params.clients}`, () => sleep(params.durationMs));
  const [cpu1, mark1] = await Promise.all([server.call('cpu', null), load.call('mark', null)]);
  const { failed } = await server.call('stopPublishing', null);
  const seconds = (mark1.atMs - mark0.atMs) / 1_000;
  const cpuUs = cpu1.cpuUs - cpu0.cpuUs;
  return {
    eventsPerSec: mark1.delivered / seconds,
    cpuUsPerEvent: cpuUs / mark1.delivered,
    serverCpuPct: (cpuUs / 1_000 / (cpu1.atMs - cpu0.atMs)) * 100,
    // Near 100 % means the load generator, not the server, limits the throughput.
    loadCpuPct: ((mark1.cpuUs - mark0.cpuUs) / 1_000 / (mark1.atMs - mark0.atMs)) * 100,
    // What one delivery costs the client library (ProgressClient, socket.io-client, ws + JSON.parse).
    loadCpuUsPerEvent: (mark1.cpuUs - mark0.cpuUs) / mark1.delivered,
    p50Ms: mark1.p50Ms,
    p99Ms: mark1.p99Ms,
    failedPublishes: failed,
  };
}
