import { defineConfig } from 'tsup';

// One entry per public subpath (package.json `exports`). `clean` stays off: in a
// multi-entry build it would delete the other entries' declaration files; the build
// script removes `dist` first instead.
export default defineConfig({
  entry: {
    'shared/index': 'src/shared/index.ts',
    'server/index': 'src/server/index.ts',
    'client/index': 'src/client/index.ts',
    'react/index': 'src/react/index.ts',
    'sql/index': 'src/adapters/storage/sql/index.ts',
    'redis/index': 'src/adapters/bus/redis-index.ts',
    'testing/index': 'src/testing/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: false,
  target: 'es2022',
  splitting: false,
  treeshake: true,
});
