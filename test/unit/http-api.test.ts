/**
 * The HTTP core on its own (no network): which requests it owns, and its guards.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../../src/adapters/storage/memory.js';
import { createAuthHooks } from '../../src/server/auth.js';
import { createHttpApi } from '../../src/server/http/api.js';
import { silentLogger } from '../../src/server/logger.js';
import type { ClientRegistry } from '../../src/server/types.js';

const clients: ClientRegistry = {
  stats: () => ({ totalClients: 0, byUser: {}, byProject: {} }),
  identityOf: () => undefined,
  subscribe: async () => false,
  unsubscribe: async () => false,
};

const apiAt = (basePath: string) =>
  createHttpApi({
    basePath,
    storage: createMemoryStorage(),
    clients,
    auth: createAuthHooks(undefined, undefined, silentLogger),
    logger: silentLogger,
  });

const statusOf = async (basePath: string, path: string, method = 'GET') =>
  (await apiAt(basePath).handle(new Request(`http://x${path}`, { method })))?.status;

describe('createHttpApi', () => {
  it.each([
    ['/elsewhere'],
    ['/api/v1'],
    ['/api/v1/'],
    ['/api/v1/ws'],
    ['/api/v1/ws/reconnect'],
    ['/api/v1/progress'],
    ['/api/v1/progress/x/history/db/more'],
    ['/api/v1x/progress/stats'],
    ['/API/V1/progress/stats'],
  ])('leaves %s to the host', async (path) => {
    expect(await statusOf('/api/v1', path)).toBeUndefined();
  });

  it('serves routes at the root when the base path is "/"', async () => {
    expect(await statusOf('/', '/progress/stats')).toBe(200);
  });

  it('ignores a trailing slash on the base path', async () => {
    expect(await statusOf('/api/v1/', '/api/v1/progress/stats')).toBe(200);
  });

  it('answers 405 for a method named after an Object.prototype member', async () => {
    expect(await statusOf('/api/v1', '/api/v1/progress/stats', 'toString')).toBe(405);
  });

  it('accepts limit with leading zeros', async () => {
    const response = await apiAt('/api/v1').handle(
      new Request('http://x/api/v1/progress/t/history?limit=007'),
    );
    expect(response?.status).toBe(200);
  });

  it('answers 400 for a limit with more digits than a safe integer', async () => {
    const response = await apiAt('/api/v1').handle(
      new Request(`http://x/api/v1/progress/t/history?limit=${'9'.repeat(30)}`),
    );
    expect(response?.status).toBe(400);
  });
});
