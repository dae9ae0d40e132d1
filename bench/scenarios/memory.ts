/**
 * (C) server memory per idle connection: RSS and V8 heap after full GCs, read before the
 * clients connect and again once they sit idle, each subscribed to one task.
 */
import type { MemorySample } from '../lib/commands.js';
import type { MetricSpec, Metrics } from './types.js';

export const MEMORY_METRICS: readonly MetricSpec[] = [
  { key: 'rssKiBPerConn', label: 'RSS per idle connection', unit: 'KiB', better: 'lower', digits: 2 },
  { key: 'heapKiBPerConn', label: 'heap per idle connection', unit: 'KiB', better: 'lower', digits: 2 },
  {
    key: 'externalKiBPerConn',
    label: 'external per idle connection',
    unit: 'KiB',
    better: 'lower',
    digits: 2,
  },
];

/** Idle time before the second reading, so that per-connection buffers settle. */
export const MEMORY_IDLE_MS = 1_000;

export function memoryPerConnection(before: MemorySample, after: MemorySample, open: number): Metrics {
  const perConn = (bytes: number): number => bytes / open / 1_024;
  return {
    rssKiBPerConn: perConn(after.rss - before.rss),
    heapKiBPerConn: perConn(after.heapUsed - before.heapUsed),
    externalKiBPerConn: perConn(after.external - before.external),
  };
}
