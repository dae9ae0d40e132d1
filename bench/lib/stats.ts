/** Medians and a fixed-bucket latency histogram (O(1) per sample, so recording never skews the load generator). */
import type { LatencySummary } from './commands.js';

export function median(values: readonly number[]): number {
  const finite = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const middle = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[middle]! : (finite[middle - 1]! + finite[middle]!) / 2;
}

/** 10 us buckets up to 10 s; anything slower lands in the last bucket. */
const BUCKET_US = 10;
const BUCKETS = 1_000_000;

export class LatencyHistogram {
  private readonly buckets = new Uint32Array(BUCKETS);
  private count = 0;
  private maxMs = 0;

  record(latencyMs: number): void {
    // Clocks of two processes can disagree by a few microseconds: clamp, never drop.
    const ms = Math.max(latencyMs, 0);
    const index = Math.min(BUCKETS - 1, Math.floor((ms * 1000) / BUCKET_US));
    this.buckets[index]!++;
    this.count++;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      p50Ms: this.percentile(0.5),
      p99Ms: this.percentile(0.99),
      maxMs: this.maxMs,
    };
  }

  reset(): void {
    this.buckets.fill(0);
    this.count = 0;
    this.maxMs = 0;
  }

  private percentile(fraction: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil(fraction * this.count);
    let seen = 0;
    for (let index = 0; index < BUCKETS; index++) {
      seen += this.buckets[index]!;
      // The bucket's upper edge: a conservative (never optimistic) percentile.
      if (seen >= rank) return ((index + 1) * BUCKET_US) / 1000;
    }
    return this.maxMs;
  }
}
