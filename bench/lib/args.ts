/** Command-line options of `npm run bench`. */
import { parseArgs } from 'node:util';
import type { SystemName } from '../systems/types.js';

export interface BenchArgs {
  readonly quick: boolean;
  /** Scenario letters to run (`--only A,B`); empty means all. */
  readonly only: ReadonlySet<string>;
  readonly rounds: number;
  /** Systems to run (`--systems raw-ws,realtime-progress`); empty means all. */
  readonly systems: ReadonlySet<string>;
  /** Write V8 CPU profiles of both processes, one per measured phase and run, to this directory. */
  readonly cpuProfDir: string | undefined;
  readonly out: string;
  /** Run realtime-progress from `src/` through tsx instead of the bundle (readable profiles, slower). */
  readonly fromSource: boolean;
  /** Runs still queued when the run has taken this long are skipped (reported as missing). */
  readonly maxMinutes: number;
  /**
   * Load realtime-progress's server with raw ws's client instead of `ProgressClient` (a
   * diagnostic: with the same client on both, a ratio is the servers' alone).
   */
  readonly rawClient: boolean;
}

/** Set for the child processes when `--raw-client` is given. */
export const RAW_CLIENT_ENV = 'BENCH_RAW_CLIENT';

export const USAGE = `Usage: npm run bench -- [--quick] [--only A,B,...] [--rounds N] [--systems raw-ws,realtime-progress,socketio]
                         [--cpu-prof DIR] [--from-source] [--raw-client] [--out FILE] [--max-minutes M]`;

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', default: '' },
      rounds: { type: 'string' },
      systems: { type: 'string', default: '' },
      'cpu-prof': { type: 'string' },
      out: { type: 'string', default: 'bench/results/latest.json' },
      'from-source': { type: 'boolean', default: false },
      'raw-client': { type: 'boolean', default: false },
      'max-minutes': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const list = (text: string): Set<string> =>
    new Set(
      text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    );
  const rounds = Number(values.rounds ?? (values.quick ? 1 : 3));
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20)
    throw new TypeError(`--rounds must be 1-20, got ${values.rounds}`);
  const maxMinutes = Number(values['max-minutes'] ?? (values.quick ? 4 : 9.5));
  const systems = list(values.systems);
  const known: readonly SystemName[] = ['raw-ws', 'realtime-progress', 'socketio'];
  for (const system of systems) {
    if (!(known as readonly string[]).includes(system))
      throw new TypeError(`unknown system ${system}; use ${known.join(', ')}`);
  }
  return {
    quick: values.quick,
    only: new Set([...list(values.only)].map((letter) => letter.toUpperCase())),
    rounds,
    systems,
    cpuProfDir: values['cpu-prof'],
    out: values.out,
    fromSource: values['from-source'],
    maxMinutes,
    rawClient: values['raw-client'],
  };
}
