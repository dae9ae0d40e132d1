import { builtinModules } from 'node:module';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/**
 * The client's size budget, gzip: about 5.2 KB of our own code plus eventemitter3 (1.1 KB),
 * with a little room.
 */
const BUDGET_BYTES = 6.5 * 1024;

async function bundleClient() {
  const result = await build({
    entryPoints: ['src/client/index.ts'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  return {
    inputs: Object.keys(result.metafile.inputs),
    gzipBytes: gzipSync(code).length,
    rawBytes: code.length,
  };
}

describe('client browser bundle', () => {
  it('pulls in no Node built-in, no ws and no zod, and stays within 6.5 KB gzip', async () => {
    const { inputs, gzipBytes, rawBytes } = await bundleClient();
    const forbidden = inputs.filter(
      (input) =>
        input.startsWith('node:') ||
        builtinModules.includes(input) ||
        /(^|\/)node_modules\/(ws|zod)\//.test(input) ||
        /^(ws|zod)$/.test(input),
    );
    console.info(
      `client bundle: ${rawBytes} bytes minified, ${gzipBytes} bytes gzip (budget ${BUDGET_BYTES})`,
    );
    expect(forbidden).toEqual([]);
    expect(inputs).toContain('node_modules/isomorphic-ws/browser.js');
    expect(gzipBytes).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
