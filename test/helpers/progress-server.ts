/** Starts a real `http.Server` on 127.0.0.1:0 with a progress server attached. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createMemoryStorage,
  createProgressServer,
  type ProgressServer,
  type ProgressServerOptions,
  type StorageAdapter,
} from '../../src/server/index.js';

export interface TestServer {
  readonly httpServer: http.Server;
  readonly server: ProgressServer;
  readonly storage: StorageAdapter;
  readonly port: number;
  /** `ws://127.0.0.1:port/api/v1/ws` plus `query`. */
  wsUrl(query?: string): string;
  /** `http://127.0.0.1:port` */
  readonly httpUrl: string;
  close(): Promise<void>;
}

export async function startServer(
  options: ProgressServerOptions = {},
  storage: StorageAdapter = createMemoryStorage(),
  port = 0,
): Promise<TestServer> {
  const httpServer = http.createServer();
  const server = createProgressServer(httpServer, storage, options);
  httpServer.on('request', server.nodeHandler);
  await new Promise<void>((resolve) => httpServer.listen(port, '127.0.0.1', resolve));
  const actualPort = (httpServer.address() as AddressInfo).port;
  const path = options.path ?? '/api/v1/ws';
  return {
    httpServer,
    server,
    storage,
    port: actualPort,
    httpUrl: `http://127.0.0.1:${actualPort}`,
    wsUrl: (query = '') => `ws://127.0.0.1:${actualPort}${path}${query === '' ? '' : `?${query}`}`,
    async close() {
      await server.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
