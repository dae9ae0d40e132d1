/**
 * Size budget of `realtime-progress/react` in a browser bundle: at most 3 KB (minified +
 * gzip) on top of the client it includes, with react itself external (the app has it).
 */
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const REACT_BUDGET_BYTES = 3 * 1024;

async function gzipBytes(entry: string): Promise<number> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    minify: true,
    write: false,
    external: ['react', 'react-dom', 'react/jsx-runtime'],
    jsx: 'automatic',
  });
  return gzipSync(result.outputFiles[0]!.contents, { level: 9 }).length;
}

describe('react binding size', () => {
  it(`adds at most ${REACT_BUDGET_BYTES} bytes gzip to the client`, async () => {
    const client = await gzipBytes('src/client/index.ts');
    const withReact = await gzipBytes('src/react/index.ts');
    const added = withReact - client;
    console.info(`client ${client} B gzip; react binding adds ${added} B gzip (${withReact} B together)`);
    expect(added).toBeLessThanOrEqual(REACT_BUDGET_BYTES);
  });
});
