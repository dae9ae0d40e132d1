/**
 * (B) latency at a fixed moderate load, on clients already connected: `deliveriesPerSec`
 * deliveries per second, as evenly spaced events each reaching `clients / tasks` subscribers,
 * after the server collected the garbage of the clients' setup.
 */
import { sleep } from '../lib/clock.js';
import type { Session } from '../lib/session.js';
import type { MetricSpec, Metrics } from './types.js';

export interface LatencyParams {
  readonly clients: number;
  readonly tasks: number;
  readonly deliveriesPerSec: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export const LATENCY_METRICS: readonly MetricSpec[] = [
  { key: 'p50Ms', label: 'p50 latency', unit: 'ms', better: 'lower', digits: 3 },
  { key: 'p99Ms', label: 'p99 latency', unit: 'ms', better: 'lower', digits: 3 },
  { key: 'cpuUsPerEvent', label: 'server CPU per delivered event', unit: 'us', better: 'lower', digits: 2 },
  { key: 'eventsPerSec', label: 'delivered events/s', unit: '/s', better: 'higher', digits: 0 },
];

export async function runLatency(session: Session, params: LatencyParams): Promise<Metrics> {
  const { server, load } = session;
  const subscribersPerTask = params.clients / params.tasks;
  // Steady state, not the setup's aftermath: the server collects the garbage of connecting
  // the clients first. Without this, a server's first collections after setting up 1,000
  // connections (for ours, scavenges of up to 10 ms, then a full collection) fell inside the
  // window and decided its p99 (docs/benchmarks.md, "What we tried").
  await server.call('settle', null);
  await server.call('startRate', {
    tasks: params.tasks,
    eventsPerSecond: params.deliveriesPerSec / subscribersPerTask,
  });
  await sleep(params.warmupMs);
  const [cpu0, mark0] = await Promise.all([server.call('cpu', null), load.call('mark', null)]);
  await session.profiled('latency', () => sleep(params.durationMs));
  const [cpu1, mark1] = await Promise.all([server.call('cpu', null), load.call('mark', null)]);
  await server.call('stopPublishing', null);
  return {
    p50Ms: mark1.p50Ms,
    p99Ms: mark1.p99Ms,
    cpuUsPerEvent: (cpu1.cpuUs - cpu0.cpuUs) / mark1.delivered,
    eventsPerSec: mark1.delivered / ((mark1.atMs - mark0.atMs) / 1_000),
  };
}
