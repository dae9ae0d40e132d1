/**
 * Operator metrics (the seed's 监控指标): counters and latency histograms kept by the hub and
 * the publish path, read with `server.metrics()` and exposed in the Prometheus text format by
 * `createPrometheusHandler`. Recording is a few additions per event, never per recipient.
 */

/** Upper bounds (ms) of the latency histogram buckets; the last bucket is +Inf. */
export const LATENCY_BUCKETS_MS = [
  0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000,
] as const;

export interface LatencySummary {
  readonly count: number;
  readonly avgMs: number;
  /** Upper bound of the bucket holding the 50th percentile. */
  readonly p50Ms: number;
  /** Upper bound of the bucket holding the 99th percentile (`Infinity` past the last bucket). */
  readonly p99Ms: number;
}

export class LatencyHistogram {
  /** Count per bucket; the extra last one is +Inf. */
  readonly counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  count = 0;
  sumMs = 0;

  observe(ms: number): void {
    let index = 0;
    while (index < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[index]!) index++;
    this.counts[index]!++;
    this.count++;
    this.sumMs += ms;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      avgMs: this.count === 0 ? 0 : this.sumMs / this.count,
      p50Ms: this.quantile(0.5),
      p99Ms: this.quantile(0.99),
    };
  }

  private quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let index = 0; index < this.counts.length; index++) {
      seen += this.counts[index]!;
      if (seen >= rank) return LATENCY_BUCKETS_MS[index] ?? Number.POSITIVE_INFINITY;
    }
    return Number.POSITIVE_INFINITY;
  }
}

/** Counters shared by the hub and the publish path. */
export class MetricsRecorder {
  readonly startedAtMs = Date.now();
  /** Publish (stored) to the end of the fan-out to this process's sockets. */
  readonly deliveryLatency = new LatencyHistogram();
  /** Duration of `storage.appendEvents` as seen by a publisher. */
  readonly storageWriteLatency = new LatencyHistogram();
  eventsPublished = 0;
  resumeAttempts = 0;
  resumeSuccesses = 0;
  coalescedEvents = 0;
  droppedPendingEvents = 0;
  rateLimitedMessages = 0;
  slowConsumerDisconnects = 0;
  connectionsOpened = 0;
  /** Messages sent by connections that have since closed (live ones count their own). */
  messagesSentByClosed = 0;
}

/** A snapshot of the server's metrics. */
export interface ServerMetrics {
  readonly connectedClients: number;
  readonly byUser: Readonly<Record<string, number>>;
  readonly byProject: Readonly<Record<string, number>>;
  readonly connectionsOpenedTotal: number;
  /** Messages written to sockets since start. */
  readonly messagesSentTotal: number;
  /** Average rate since the previous `metrics()` call (or since start). */
  readonly messagesPerSecond: number;
  readonly eventsPublishedTotal: number;
  readonly resumeAttemptsTotal: number;
  readonly resumeSuccessesTotal: number;
  /** Share of resume attempts that kept their session; `1` before any attempt. */
  readonly resumeSuccessRate: number;
  readonly deliveryLatency: LatencySummary;
  readonly storageWriteLatency: LatencySummary;
  /** Connections currently coalescing progress because they read too slowly. */
  readonly slowConsumers: number;
  /** Live events waiting in subscriptions while their history is replayed. */
  readonly pendingEvents: number;
  readonly coalescedEventsTotal: number;
  readonly droppedPendingEventsTotal: number;
  readonly rateLimitedMessagesTotal: number;
  readonly slowConsumerDisconnectsTotal: number;
}

/** Renders metrics in the Prometheus text exposition format (version 0.0.4). */
export function formatPrometheus(
  metrics: ServerMetrics,
  recorder: MetricsRecorder,
  prefix = 'realtime_progress_',
): string {
  const lines: string[] = [];
  const metric = (
    name: string,
    type: 'gauge' | 'counter',
    help: string,
    value: number,
    labels = '',
  ): void => {
    lines.push(
      `# HELP ${prefix}${name} ${help}`,
      `# TYPE ${prefix}${name} ${type}`,
      `${prefix}${name}${labels} ${value}`,
    );
  };
  const labelled = (
    name: string,
    help: string,
    label: string,
    values: Readonly<Record<string, number>>,
  ): void => {
    lines.push(`# HELP ${prefix}${name} ${help}`, `# TYPE ${prefix}${name} gauge`);
    for (const [key, value] of Object.entries(values))
      lines.push(`${prefix}${name}{${label}="${escapeLabel(key)}"} ${value}`);
  };
  const histogram = (name: string, help: string, histogram: LatencyHistogram): void => {
    lines.push(`# HELP ${prefix}${name} ${help}`, `# TYPE ${prefix}${name} histogram`);
    let cumulative = 0;
    histogram.counts.forEach((count, index) => {
      cumulative += count;
      const le = LATENCY_BUCKETS_MS[index] === undefined ? '+Inf' : String(LATENCY_BUCKETS_MS[index]! / 1000);
      lines.push(`${prefix}${name}_bucket{le="${le}"} ${cumulative}`);
    });
    lines.push(`${prefix}${name}_sum ${histogram.sumMs / 1000}`, `${prefix}${name}_count ${histogram.count}`);
  };
  metric(
    'connected_clients',
    'gauge',
    'WebSocket clients connected to this process.',
    metrics.connectedClients,
  );
  labelled('connected_clients_by_user', 'Connected clients per user.', 'user', metrics.byUser);
  labelled('connected_clients_by_project', 'Connected clients per project.', 'project', metrics.byProject);
  metric(
    'connections_opened_total',
    'counter',
    'WebSocket connections accepted.',
    metrics.connectionsOpenedTotal,
  );
  metric('messages_sent_total', 'counter', 'Messages written to sockets.', metrics.messagesSentTotal);
  metric(
    'events_published_total',
    'counter',
    'Task events published through this process.',
    metrics.eventsPublishedTotal,
  );
  metric(
    'resume_attempts_total',
    'counter',
    'Connections that asked to resume a session.',
    metrics.resumeAttemptsTotal,
  );
  metric(
    'resume_successes_total',
    'counter',
    'Resume attempts that kept their session.',
    metrics.resumeSuccessesTotal,
  );
  histogram(
    'delivery_latency_seconds',
    'From an event being stored to its fan-out to local sockets.',
    recorder.deliveryLatency,
  );
  histogram(
    'storage_write_latency_seconds',
    'Duration of storage appends on the publish path.',
    recorder.storageWriteLatency,
  );
  metric(
    'slow_consumers',
    'gauge',
    'Connections coalescing progress because they read too slowly.',
    metrics.slowConsumers,
  );
  metric(
    'pending_events',
    'gauge',
    'Live events held while subscriptions replay history.',
    metrics.pendingEvents,
  );
  metric(
    'coalesced_events_total',
    'counter',
    'Progress events folded into later ones for slow consumers.',
    metrics.coalescedEventsTotal,
  );
  metric(
    'dropped_pending_events_total',
    'counter',
    'Held live events dropped (refetched from storage instead).',
    metrics.droppedPendingEventsTotal,
  );
  metric(
    'rate_limited_messages_total',
    'counter',
    'Client messages refused by the rate limit.',
    metrics.rateLimitedMessagesTotal,
  );
  metric(
    'slow_consumer_disconnects_total',
    'counter',
    'Connections closed with 4009.',
    metrics.slowConsumerDisconnectsTotal,
  );
  return `${lines.join('\n')}\n`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
