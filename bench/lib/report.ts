/**
 * Results: per-round metrics, medians, and pair-by-pair ratios to the baseline (each round's
 * value over the baseline's value in the same round, then the median of those ratios, so that
 * drift of a shared machine cancels). Rendered as Markdown tables for stdout and the docs.
 */
import type { MetricSpec, Metrics, Table } from '../scenarios/types.js';
import { median } from './stats.js';

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly baseline: string;
  readonly metrics: readonly MetricSpec[];
  readonly variants: ReadonlyArray<{ key: string; label: string }>;
  /** Per variant, one entry per round (`null` where the run failed). */
  readonly runs: Record<string, Array<Metrics | null>>;
  readonly medians: Record<string, Metrics>;
  readonly ratios: Record<string, Metrics>;
}

export function summarise(table: Table, runs: Record<string, Array<Metrics | null>>): ScenarioResult {
  const medians: Record<string, Metrics> = {};
  const ratios: Record<string, Metrics> = {};
  const base = runs[table.baseline] ?? [];
  for (const variant of table.variants) {
    const own = runs[variant.key] ?? [];
    const keys = new Set(own.flatMap((metrics) => Object.keys(metrics ?? {})));
    medians[variant.key] = {};
    ratios[variant.key] = {};
    for (const key of keys) {
      medians[variant.key]![key] = median(own.map((metrics) => metrics?.[key] ?? Number.NaN));
      const paired = own.map(
        (metrics, round) => (metrics?.[key] ?? Number.NaN) / (base[round]?.[key] ?? Number.NaN),
      );
      ratios[variant.key]![key] = median(paired);
    }
  }
  return {
    id: table.id,
    title: table.title,
    baseline: table.baseline,
    metrics: table.metrics,
    variants: table.variants.map(({ key, label }) => ({ key, label })),
    runs,
    medians,
    ratios,
  };
}

export function formatNumber(value: number | undefined, digits: number): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatRatio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(2)}x`;
}

/** One table per scenario: a row per metric, a column per variant, `median (ratio)`. */
export function scenarioTable(result: ScenarioResult): string {
  const header = `| metric | ${result.variants.map((variant) => variant.label).join(' | ')} |`;
  const rule = `| --- | ${result.variants.map(() => '---:').join(' | ')} |`;
  const rows = result.metrics.map((metric) => {
    const cells = result.variants.map(({ key }) => {
      const value = `${formatNumber(result.medians[key]?.[metric.key], metric.digits)} ${metric.unit}`;
      return key === result.baseline ? value : `${value} (${formatRatio(result.ratios[key]?.[metric.key])})`;
    });
    return `| ${metric.label} | ${cells.join(' | ')} |`;
  });
  return [`**${result.title}**`, '', header, rule, ...rows].join('\n');
}

interface Target {
  readonly label: string;
  readonly scenario: string;
  readonly metric: string;
  readonly variant: string;
  readonly better: 'lower' | 'higher';
  readonly must: number;
  readonly aim: number;
}

/** The targets: ratios to raw ws in the same run (F: SQLite over memory). */
export const TARGETS: readonly Target[] = [
  {
    label: '(A) server CPU per delivered event',
    scenario: 'A-1000',
    metric: 'cpuUsPerEvent',
    variant: 'realtime-progress',
    better: 'lower',
    must: 1.0,
    aim: 0.75,
  },
  {
    label: '(A) delivered events/s',
    scenario: 'A-1000',
    metric: 'eventsPerSec',
    variant: 'realtime-progress',
    better: 'higher',
    must: 0.9,
    aim: 1.15,
  },
  {
    label: '(B) p99 latency at 2,000/s',
    scenario: 'B',
    metric: 'p99Ms',
    variant: 'realtime-progress',
    better: 'lower',
    must: 1.2,
    aim: 1.05,
  },
  {
    label: '(C) RSS per idle connection',
    scenario: 'C',
    metric: 'rssKiBPerConn',
    variant: 'realtime-progress',
    better: 'lower',
    must: 1.3,
    aim: 1.15,
  },
  {
    label: '(D) server CPU per connection',
    scenario: 'D',
    metric: 'cpuUsPerConn',
    variant: 'realtime-progress',
    better: 'lower',
    must: 1.5,
    aim: 1.2,
  },
  {
    label: '(E) storm: all back, resumed and replayed',
    scenario: 'E',
    metric: 'stormMs',
    variant: 'realtime-progress',
    better: 'lower',
    must: 1.5,
    aim: 1.2,
  },
  {
    label: '(F) SQLite-backed vs memory-backed events/s',
    scenario: 'F',
    metric: 'eventsPerSec',
    variant: 'realtime-progress+sqlite',
    better: 'higher',
    must: 0.7,
    aim: 0.9,
  },
];

export function targetsTable(results: readonly ScenarioResult[]): string {
  const byId = new Map(results.map((result) => [result.id, result]));
  const rows = TARGETS.flatMap((target) => {
    const result = byId.get(target.scenario);
    if (result === undefined) return [];
    const ratio = result.ratios[target.variant]?.[target.metric];
    const socketIo = target.scenario === 'F' ? '' : formatRatio(result.ratios.socketio?.[target.metric]);
    const sign = target.better === 'lower' ? '<=' : '>=';
    return [
      `| ${target.label} | ${target.scenario === 'F' ? '' : '1.00x'} | ${socketIo} | ${formatRatio(ratio)} | ${sign} ${target.must} | ${sign} ${target.aim} | ${verdict(target, ratio)} |`,
    ];
  });
  return [
    '| target (ratio to raw ws, medians) | raw ws | Socket.IO | realtime-progress | must | aim | verdict |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
}

function verdict(target: Target, ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return 'not measured';
  const meets = (limit: number): boolean => (target.better === 'lower' ? ratio <= limit : ratio >= limit);
  if (meets(target.aim)) return 'aim met';
  return meets(target.must) ? 'must met' : '**missed**';
}
