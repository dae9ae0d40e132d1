/**
 * Builds what the bench runs of our package: an esbuild bundle of `src/` per entry, the way
 * tsup builds `dist/` (ES2022, ESM, dependencies external, no `keepNames`). Running `src/`
 * through tsx instead wraps every named closure in a `__name()` call, which costs CPU on hot
 * paths and about 2 KiB of heap per connection that users of the package never pay.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildOptions, build } from 'esbuild';

/** The environment variable that tells the child processes where the build is. */
export const BUILD_DIR_ENV = 'BENCH_OURS_BUILD';

/** How every bench bundle of our code is built: like tsup's `dist/`. */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'es2022',
  packages: 'external',
  logLevel: 'warning',
} as const satisfies BuildOptions;

export async function buildOurs(root: string, outdir: string): Promise<void> {
  mkdirSync(outdir, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: {
      server: join('src', 'server', 'index.ts'),
      client: join('src', 'client', 'index.ts'),
      sql: join('src', 'adapters', 'storage', 'sql', 'index.ts'),
    },
    outdir,
    ...BUNDLE_OPTIONS,
  });
}
