/**
 * Summarises V8 CPU profiles of the bench server (`npm run bench -- --cpu-prof DIR` writes one
 * per measured phase and run): the functions with the most self time, and the functions of
 * our package (`src/`, or the bench's bundle of it) with the most total time (self plus
 * callees), so a cost can be traced to our code. Run the bench with `--from-source` for
 * profiles that name `src/` files.
 * Usage: npx tsx bench/profile-top.ts <file.cpuprofile>... [--top N]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Paths are shown relative to the repository, wherever the script is run from. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
const files = args.filter((_arg, index) => topIndex < 0 || (index !== topIndex && index !== topIndex + 1));
/** Our code: `src/` (with `--from-source`) or the bench's bundle of it. */
const OURS = / (src\/|bench\/results\/build\/)/;
// Not the program's work: idle time, and `dispatch`, the inspector session that stops the profiler.
const IDLE = new Set(['(idle)', '(program)', 'dispatch']);

const selfUs = new Map<string, number>();
const totalUs = new Map<string, number>();
let busyUs = 0;
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  // Per node, the distinct `src/` functions on its stack (memoised: stacks share prefixes).
  const ours = new Map<number, readonly string[]>();
  const oursOf = (id: number): readonly string[] => {
    const known = ours.get(id);
    if (known !== undefined) return known;
    const up = parent.get(id);
    const inherited = up === undefined ? [] : oursOf(up);
    const name = describe(byId.get(id)!);
    const list = OURS.test(name) && !inherited.includes(name) ? [...inherited, name] : inherited;
    ours.set(id, list);
    return list;
  };
  profile.samples.forEach((id, index) => {
    const us = profile.timeDeltas[index] ?? 0;
    const name = describe(byId.get(id)!);
    if (IDLE.has(name)) return;
    busyUs += us;
    selfUs.set(name, (selfUs.get(name) ?? 0) + us);
    for (const fn of oursOf(id)) totalUs.set(fn, (totalUs.get(fn) ?? 0) + us);
  });
}

console.log(`${files.length} profile(s), ${(busyUs / 1e6).toFixed(2)} s of CPU sampled\n`);
print('self time (the function itself)', selfUs);
print('total time of our functions (with what they call)', totalUs);

function print(title: string, times: Map<string, number>): void {
  console.log(`${title}\n   ms   % busy  function`);
  for (const [name, us] of [...times].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${(us / 1e3).toFixed(0).padStart(5)}  ${((us / busyUs) * 100).toFixed(1).padStart(6)}%  ${name}`,
    );
  }
  console.log('');
}

function describe({ callFrame }: ProfileNode): string {
  const name = callFrame.functionName || '(anonymous)';
  if (callFrame.url === '') return name;
  const path = callFrame.url.startsWith('file://')
    ? relative(ROOT, fileURLToPath(callFrame.url))
    : callFrame.url;
  return `${name} ${path}`;
}
