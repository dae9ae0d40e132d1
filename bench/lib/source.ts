/**
 * Which code a run measured: the commit, and a hash of `src/` as it was on disk (others may be
 * changing it between runs), so two results can be told apart.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SourceState {
  readonly commit: string;
  /** Files under `src/` that differ from the commit. */
  readonly changedFiles: number;
  /** SHA-256 (first 12 hex digits) of every file under `src/`, path and content. */
  readonly srcHash: string;
}

export function sourceState(root = process.cwd()): SourceState {
  const git = (...args: string[]): string =>
    spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '';
  const hash = createHash('sha256');
  for (const file of listFiles(join(root, 'src'))) {
    hash.update(file);
    hash.update(readFileSync(file));
  }
  return {
    commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
    changedFiles: git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length,
    srcHash: hash.digest('hex').slice(0, 12),
  };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => (entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)]));
}
