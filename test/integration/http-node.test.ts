/**
 * What only the node adapter does: build the `Request` from raw request parts it must not
 * trust (Host header, request target, method).
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../../src/adapters/storage/memory.js';
import { createAuthHooks } from '../../src/server/auth.js';
import { createHttpApi } from '../../src/server/http/api.js';
import { createNodeHandler } from '../../src/server/http/node.js';
import { silentLogger } from '../../src/server/logger.js';
import type { AuthRequest, ClientRegistry } from '../../src/server/types.js';

const clients: ClientRegistry = {
  stats: () => ({ totalClients: 0, byUser: {}, byProject: {} }),
  identityOf: () => undefined,
  subscribe: async () => false,
  unsubscribe: async () => false,
};

let server: Server;
let port: number;
let seen: AuthRequest[];

beforeEach(async () => {
  seen = [];
  const auth = createAuthHooks(
    (req) => {
      seen.push(req);
      return { userId: 'u', projectId: '' };
    },
    undefined,
    silentLogger,
  );
  const api = createHttpApi({
    basePath: '/api/v1',
    storage: createMemoryStorage(),
    clients,
    auth,
    logger: silentLogger,
  });
  server = createServer(createNodeHandler(api));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A raw request, so the Host header and request target go out exactly as given. */
function raw(method: string, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('createNodeHandler', () => {
  it('does not let the Host header change the routed path', async () => {
    const answer = await raw('GET', '/elsewhere', 'x/api/v1/progress/stats?');
    expect([answer.status, JSON.parse(answer.body).code]).toEqual([404, 'NOT_FOUND']);
  });

  it('keeps a request target starting with // as a path', async () => {
    const answer = await raw('GET', '//evil/api/v1/progress/stats', 'example.com');
    expect([answer.status, JSON.parse(answer.body).code]).toEqual([404, 'NOT_FOUND']);
  });

  it('hands authenticate the Host header as the URL host', async () => {
    await raw('GET', '/api/v1/progress/stats', 'progress.example.com:8080');
    expect(seen.map((r) => r.url.href)).toEqual(['http://progress.example.com:8080/api/v1/progress/stats']);
  });

  it('answers a method fetch cannot represent with a JSON 404', async () => {
    const answer = await raw('TRACE', '/api/v1/progress/stats', 'localhost');
    expect([answer.status, JSON.parse(answer.body)]).toEqual([
      404,
      { error: 'No route for this request.', code: 'NOT_FOUND' },
    ]);
  });
});
