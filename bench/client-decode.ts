/**
 * Micro-benchmark of `ProgressClient`'s receive path: CPU per `progress` message, from the
 * socket's `onmessage` to the app's listener, with no network. A fake socket is passed as the
 * `WebSocket` option; the client is greeted, subscribes to one task, and then N realistic
 * frames (about 200 bytes of payload, built like the bench's) are fed in `seq` order.
 *
 * The client is bundled the way `bench/lib/build.ts` builds it (esbuild, ES2022, dependencies
 * external), not run through tsx, whose `__name()` wrappers would cost CPU users never pay.
 *
 *   npx tsx bench/client-decode.ts [--events 200000] [--runs 5] [--listener progress|none] [--entry FILE]
 *
 * Prints CPU ns/event for each run and the median, next to a reference run in turn with each (the
 * raw-ws bench client's `JSON.parse` and field read), and the ratio of the two. Bounded: one
 * warm-up run plus `runs` runs of each.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import type { WebSocketConstructor } from '../src/client/index.js';
import { BUNDLE_OPTIONS } from './lib/build.js';
import { benchUpdate, progressMessage, sentAtOf } from './systems/wire.js';

type ClientModule = typeof import('../src/client/index.js');

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '5' },
    listener: { type: 'string', default: 'progress' },
    /** Another copy of the client to measure, e.g. an older commit's `src/` unpacked with `git archive`. */
    entry: { type: 'string', default: join(import.meta.dirname, '..', 'src', 'client', 'index.ts') },
  },
});
const EVENTS = Number(values.events);
const RUNS = Number(values.runs);
const LISTENER = values.listener;
if (!(EVENTS > 0 && EVENTS <= 5_000_000 && RUNS > 0 && RUNS <= 50))
  throw new Error('--events must be 1..5e6 and --runs 1..50');
if (LISTENER !== 'progress' && LISTENER !== 'none') throw new Error('--listener must be progress or none');

/** Builds `src/client` into a file under `node_modules/.cache` (so that its external imports resolve) and loads it. */
async function loadBuiltClient(): Promise<ClientModule> {
  const dir = join(import.meta.dirname, '..', 'node_modules', '.cache');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, `client-decode-${process.pid}.mjs`);
  try {
    await build({
      entryPoints: [values.entry],
      outfile,
      ...BUNDLE_OPTIONS,
    });
    return (await import(pathToFileURL(outfile).href)) as ClientModule;
  } finally {
    rmSync(outfile, { force: true });
  }
}

/** The socket the client drives: open at once; the bench calls `onmessage` itself. */
class FakeSocket {
  static last: FakeSocket | undefined;
  readonly readyState = 1;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  send(): void {}
  close(): void {}
}

const TASK = 'task-001';
const GREETING = JSON.stringify({
  type: 'connected',
  task_id: '',
  payload: { client_id: 'c1', message: 'connected', timestamp: new Date().toISOString() },
});

function frames(count: number): string[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify(progressMessage(TASK, i + 1, benchUpdate(i, now + i))),
  );
}

/**
 * CPU time of this process (user + system), in ns: unlike the wall clock it does not count the
 * time the process waits for a core that another process holds (the machine has two).
 */
const cpuNs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1_000;
};

/** One run: a fresh client fed `data` in order; returns ns per event. */
function run(mod: ClientModule, data: readonly string[]): number {
  const client = new mod.ProgressClient({
    url: 'ws://bench.invalid/api/v1/ws',
    WebSocket: FakeSocket as unknown as WebSocketConstructor,
    heartbeatIntervalMs: 0,
  });
  const socket = FakeSocket.last!;
  socket.onmessage!({ data: GREETING });
  client.subscribe(TASK);
  let seen = 0;
  let sum = 0;
  if (LISTENER === 'progress') {
    // What the bench's client does with each event.
    client.on('progress', (event) => {
      if (event.snapshot) return;
      const sentAt = sentAtOf(event);
      if (sentAt !== undefined) sum += sentAt;
      seen++;
    });
  }
  const onmessage = socket.onmessage!;
  const started = cpuNs();
  for (let i = 0; i < data.length; i++) onmessage({ data: data[i] });
  const elapsed = cpuNs() - started;
  const last = client.task(TASK)?.seq;
  client.close();
  if (last !== data.length) throw new Error(`the client saw seq ${last}, not ${data.length}`);
  if (LISTENER === 'progress' && (seen !== data.length || !(sum > 0)))
    throw new Error(`the listener saw ${seen} events`);
  return elapsed / data.length;
}

/** The reference: what the raw-ws bench client does per message (JSON.parse and a field read). */
function runRaw(data: readonly string[]): number {
  let sum = 0;
  const started = cpuNs();
  for (let i = 0; i < data.length; i++) {
    const message = JSON.parse(data[i]!) as { type?: string };
    if (message.type === 'progress') sum += sentAtOf(message) ?? 0;
  }
  const elapsed = cpuNs() - started;
  if (!(sum > 0)) throw new Error('the raw reference read no send times');
  return elapsed / data.length;
}

const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const list = (values: readonly number[], digits = 0): string =>
  values.map((v) => v.toFixed(digits)).join(', ');

const mod = await loadBuiltClient();
const data = frames(EVENTS);
// Warm-up, then runs of the client and the reference in turn, so that both see the same machine load.
run(mod, data);
runRaw(data);
const ours: number[] = [];
const raw: number[] = [];
for (let i = 0; i < RUNS; i++) {
  ours.push(run(mod, data));
  raw.push(runRaw(data));
}
const ratios = ours.map((ns, i) => ns / raw[i]!);
console.log(`client decode: ${EVENTS} progress frames per run, listener: ${LISTENER}`);
console.log(`  ProgressClient       ${list(ours)} ns/event; median ${median(ours).toFixed(0)}`);
console.log(`  JSON.parse reference ${list(raw)} ns/event; median ${median(raw).toFixed(0)}`);
console.log(`  ratio                ${list(ratios, 2)}; median ${median(ratios).toFixed(2)}x`);
