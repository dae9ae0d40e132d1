/**
 * Rolling deploy: the reconnect rate the remaining node sees when a node with N clients
 * closes at once (1001) and when it drains (`close({ drainMs })`, 1012 spread over the
 * window). Two server processes on PostgreSQL + Redis behind a round-robin proxy, the
 * cluster of the multi-node tests. Run: `npx tsx bench/drain.ts [clients] [drainMs]`.
 */
import {
  type Cluster,
  type RecordingClient,
  recordingClient,
  startCluster,
} from '../test/helpers/cluster/cluster.js';

const CLIENTS = Number(process.argv[2] ?? 300);
const DRAIN_MS = Number(process.argv[3] ?? 3_000);
const WINDOW_MS = 100;

interface Outcome {
  readonly peakPerWindow: number;
  readonly peakPerSecond: number;
  readonly spreadMs: number;
  readonly resumed: number;
}

async function measure(drainMs: number): Promise<Outcome> {
  const cluster: Cluster = await startCluster({ nodes: 2 });
  const clients: RecordingClient[] = [];
  try {
    const [old, fresh] = cluster.nodes as [Cluster['nodes'][0], Cluster['nodes'][0]];
    cluster.lb.remove(fresh.port);
    for (let i = 0; i < CLIENTS; i++)
      clients.push(await recordingClient(cluster.url, `user-${i}`, [`task-${i % 20}`]));
    cluster.lb.add(fresh.port);
    cluster.lb.remove(old.port);
    const back: number[] = [];
    const all = Promise.all(
      clients.map(
        (client) =>
          new Promise<void>((resolve) =>
            client.client.once('reconnected', () => {
              back.push(performance.now());
              resolve();
            }),
          ),
      ),
    );
    old.child.send({ type: 'close', drainMs });
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, drainMs + 30_000))]);
    back.sort((a, b) => a - b);
    const first = back[0] ?? 0;
    const windows = new Map<number, number>();
    for (const at of back) {
      const window = Math.floor((at - first) / WINDOW_MS);
      windows.set(window, (windows.get(window) ?? 0) + 1);
    }
    let peakPerSecond = 0;
    for (const start of back)
      peakPerSecond = Math.max(peakPerSecond, back.filter((at) => at >= start && at < start + 1_000).length);
    return {
      peakPerWindow: Math.max(0, ...windows.values()),
      peakPerSecond,
      spreadMs: (back.at(-1) ?? 0) - first,
      resumed: clients.filter((client) => client.resumed > 0).length,
    };
  } finally {
    for (const { client } of clients) client.close();
    await cluster.close();
  }
}

const atOnce = await measure(0);
const drained = await measure(DRAIN_MS);
console.log(
  `${CLIENTS} clients move from a closing node to the remaining one (reconnects the remaining node sees)`,
);
console.log('| close | peak per 100 ms | peak per second | all back within | resumed |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [name, outcome] of [
  ['at once (1001)', atOnce],
  [`drainMs ${DRAIN_MS} (1012)`, drained],
] as const) {
  console.log(
    `| ${name} | ${outcome.peakPerWindow} | ${outcome.peakPerSecond} | ${Math.round(outcome.spreadMs)} ms | ${outcome.resumed}/${CLIENTS} |`,
  );
}
console.log(
  `peak reconnects per second with drain / without: ${(drained.peakPerSecond / atOnce.peakPerSecond).toFixed(2)}x`,
);
process.exit(0);
