/**
 * The suite without a runner `expect`: assertions fall back to `node:assert`, as under
 * `node:test`. Run against the memory adapter, it must pass the same way.
 */
import { afterEach, describe, it } from 'vitest';
import { createMemoryStorage } from '../../src/adapters/storage/memory.js';
import { runStorageConformance } from '../../src/testing/index.js';

runStorageConformance(
  'memory storage (node:assert expect)',
  ({ retention }) => createMemoryStorage({ retention }),
  {
    describe,
    it,
    afterEach,
  },
);
