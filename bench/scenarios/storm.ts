/**
 * (E) reconnect storm, on clients already connected with reconnect on: each client first gets
 * one event of its task; then the server cuts every socket at once and publishes one event per
 * task while they are away. Time from the cut until every client is connected again with its
 * subscription confirmed and, for systems that resume, has the missed event replayed (raw ws:
 * plain reconnect and subscribe again, nothing replayed).
 */
import type { Session } from '../lib/session.js';
import type { MetricSpec, Metrics, Variant } from './types.js';

export interface StormParams {
  readonly clients: number;
  readonly tasks: number;
  readonly timeoutMs: number;
}

export const STORM_METRICS: readonly MetricSpec[] = [
  { key: 'stormMs', label: 'all back (and replayed)', unit: 'ms', better: 'lower', digits: 0 },
  { key: 'dropNoticedMs', label: 'server noticed every drop', unit: 'ms', better: 'lower', digits: 0 },
  { key: 'replayedPct', label: 'clients with the missed event', unit: '%', better: 'higher', digits: 0 },
];

export async function runStorm(session: Session, variant: Variant, params: StormParams): Promise<Metrics> {
  const { server, load } = session;
  // Every client has a position in its task before the cut.
  await load.call('mark', null);
  await server.call('publishRound', { tasks: params.tasks });
  await load.call('waitDelivered', { count: params.clients, timeoutMs: 10_000 });
  await load.call('armStorm', null);
  const { dropAtMs, noticedMs, result } = await session.profiled('storm', async () => {
    const drop = await server.call('drop', { tasks: params.tasks });
    const waited = await load.call(
      'waitStorm',
      { requireReplay: variant.replays, timeoutMs: params.timeoutMs },
      params.timeoutMs + 10_000,
    );
    return { ...drop, result: waited };
  });
  const complete = result.done === result.clients && result.clients > 0;
  return {
    stormMs: complete ? result.lastDoneAtMs - dropAtMs : Number.NaN,
    dropNoticedMs: noticedMs,
    replayedPct: (result.replayed / Math.max(1, result.clients)) * 100,
    restored: result.restored,
    done: result.done,
  };
}
