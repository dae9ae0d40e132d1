import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../../src/adapters/storage/memory.js';
import { runStorageConformance } from '../../src/testing/index.js';

runStorageConformance('memory storage', ({ retention }) => createMemoryStorage({ retention }), {
  describe,
  it,
  expect,
  beforeEach,
  afterEach,
});
