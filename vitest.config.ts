import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration suites share the machine's PostgreSQL/MariaDB/Redis; files use their own
    // tables/prefixes so they may run in parallel, but two cores is all we have.
    maxWorkers: 2,
  },
});
