/**
 * `npm run bench`: runs the systems alternately (raw ws, realtime-progress, Socket.IO, then
 * again), each run in fresh server and load-generator processes on 127.0.0.1, and reports
 * medians and pair-by-pair ratios to raw ws. See docs/benchmarks.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseBenchArgs, RAW_CLIENT_ENV } from './lib/args.js';
import { BUILD_DIR_ENV, buildOurs } from './lib/build.js';
import { nowMs } from './lib/clock.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { type ScenarioResult, scenarioTable, summarise, targetsTable } from './lib/report.js';
import { withSession } from './lib/session.js';
import { sourceState } from './lib/source.js';
import { FULL, groups, QUICK } from './scenarios/index.js';
import type { Group, Metrics, Table, Variant } from './scenarios/types.js';

const args = parseBenchArgs(process.argv.slice(2));
const startedMs = nowMs();
const deadlineMs = startedMs + args.maxMinutes * 60_000;
const machine = machineInfo();
const source = sourceState();
const runAs = `${args.fromSource ? 'run from src/ through tsx' : 'run as an esbuild bundle of src/ (like dist/)'}${
  args.rawClient ? '; realtime-progress loaded by raw ws clients (--raw-client), not ProgressClient' : ''
}`;
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const elapsed = (): string => `${((nowMs() - startedMs) / 1_000).toFixed(0)}s`;

if (args.rawClient) process.env[RAW_CLIENT_ENV] = '1';
// Children inherit the environment: with it set, they load our package from the bundle.
if (args.fromSource) delete process.env[BUILD_DIR_ENV];
else {
  const buildDir = resolve('bench/results/build');
  await buildOurs(process.cwd(), buildDir);
  process.env[BUILD_DIR_ENV] = buildDir;
}

const selectedTable = (table: Table): boolean => args.only.size === 0 || args.only.has(table.letter);
const selectedSystem = (variant: Variant): boolean =>
  args.systems.size === 0 || args.systems.has(variant.system);
/** File descriptors a process needs beyond its sockets (modules, pipes, the database). */
const SPARE_FDS = 500;
const fdLimit = Number(machine.openFilesLimit) || Number.POSITIVE_INFINITY;
const plan = groups(args.quick ? QUICK : FULL)
  .map((group) => ({ group, tables: group.tables.filter(selectedTable) }))
  .filter(({ group, tables }) => {
    if (tables.length === 0) return false;
    // Server and load generator are separate processes: each needs one descriptor per client.
    if (group.clients + SPARE_FDS <= fdLimit) return true;
    console.error(
      `Skipping ${tables.map((t) => t.id).join(', ')}: ${group.clients} clients need ulimit -n >= ${group.clients + SPARE_FDS}.`,
    );
    return false;
  });

console.error(
  `${describeMachine(machine)}\nsrc/ at ${source.commit} (+${source.changedFiles} changed, hash ${source.srcHash}), ${runAs}\n${command}: ${args.rounds} round(s), tables ${plan.flatMap(({ tables }) => tables.map((t) => t.id)).join(' ')}`,
);

const results: ScenarioResult[] = [];
for (const { group, tables } of plan) {
  const variants = group.variants.filter(
    (variant) => selectedSystem(variant) && tables.some((table) => table.variants.includes(variant)),
  );
  // Per table id, per variant key, one entry per round.
  const runs = new Map(tables.map((table) => [table.id, {} as Record<string, Array<Metrics | null>>]));
  for (let round = 0; round < args.rounds; round++) {
    // Alternating within a round puts the runs that are compared next to each other in time.
    for (const variant of variants) {
      const wanted = (id: string): boolean =>
        tables.some((table) => table.id === id && table.variants.includes(variant));
      const measured = await measure(group, variant, wanted, round);
      for (const table of tables) {
        if (!table.variants.includes(variant)) continue;
        const byVariant = runs.get(table.id)!;
        byVariant[variant.key] = [...(byVariant[variant.key] ?? []), measured?.[table.id] ?? null];
      }
    }
  }
  for (const table of tables) {
    const result = summarise(
      { ...table, variants: table.variants.filter(selectedSystem) },
      runs.get(table.id)!,
    );
    results.push(result);
    console.log(`\n${scenarioTable(result)}\n`);
  }
}

const loadAverageAtEnd = Number(loadavg()[0]?.toFixed(2));
const sourceLine = `Source: commit ${source.commit}, ${source.changedFiles} file(s) under src/ changed since, src/ hash ${source.srcHash}; ${runAs}`;
const report = [
  `Machine: ${describeMachine(machine)}, ${loadAverageAtEnd} at the end`,
  sourceLine,
  `Command: \`${command}\` (${args.rounds} round(s), ${elapsed()})`,
  '',
  targetsTable(results),
  '',
  ...results.map((result) => `${scenarioTable(result)}\n`),
].join('\n');
console.log(`\n${targetsTable(results)}\n\nTotal ${elapsed()}.`);

const out = resolve(args.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      command,
      machine: { ...machine, loadAverageAtEnd },
      source: { ...source, runAs },
      rounds: args.rounds,
      quick: args.quick,
      startedAt: new Date(startedMs).toISOString(),
      durationS: (nowMs() - startedMs) / 1_000,
      results,
    },
    null,
    2,
  )}\n`,
);
writeFileSync(out.replace(/\.json$/, '.md'), `${report}\n`);
console.error(`Wrote ${out} and ${out.replace(/\.json$/, '.md')}`);

/** One session; a failed or skipped run is recorded as `null` and the bench goes on. */
async function measure(
  group: Group,
  variant: Variant,
  wanted: (id: string) => boolean,
  round: number,
): Promise<Record<string, Metrics> | null> {
  const ids = group.tables.map((table) => table.id).filter(wanted);
  const label = `${ids.join('+')} round ${round + 1} ${variant.label}`;
  if (nowMs() > deadlineMs) {
    console.error(`[${elapsed()}] ${label}: skipped, past --max-minutes ${args.maxMinutes}`);
    return null;
  }
  try {
    const measured = await withSession(
      {
        system: variant.system,
        config: variant.config,
        profileDir: args.cpuProfDir,
        profileName: `${variant.key}-r${round + 1}`,
      },
      (session) => group.run(session, variant, wanted),
    );
    const brief = JSON.stringify(measured, (_key, value) =>
      typeof value === 'number' ? Number(value.toPrecision(4)) : value,
    );
    console.error(`[${elapsed()}] ${label}: ${brief}`);
    return measured;
  } catch (error) {
    console.error(
      `[${elapsed()}] ${label}: FAILED ${error instanceof Error ? error.message : String(error)}`,
    );
    return null;
  }
}
