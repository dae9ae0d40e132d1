/** Start-up and shutdown shared by the node:http, express and hono examples. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import type { ProgressServer } from '../../src/server/index.js';

export interface RunningExample {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Listens on `port` (0 picks a free one). `close()` stops the simulated tasks, closes the
 * progress server (its WebSockets; the http server is the app's), then the http server.
 */
export async function listen(
  httpServer: Server,
  progress: ProgressServer,
  stop: AbortController,
  port: number,
  host: string,
): Promise<RunningExample> {
  await new Promise<void>((resolve) => httpServer.listen(port, host, resolve));
  return {
    url: `http://${host}:${(httpServer.address() as AddressInfo).port}`,
    async close() {
      stop.abort();
      await progress.close();
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}

/** Runs `start` when `moduleUrl` is the script node was started with (not when a test imports it). */
export async function runAsScript(
  moduleUrl: string,
  name: string,
  start: (port: number, host?: string) => Promise<RunningExample>,
): Promise<void> {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  const { url } = await start(Number(process.env.PORT ?? 3000), process.env.HOST);
  console.log(`${name} example on ${url} (WebSocket ${url.replace('http', 'ws')}/api/v1/ws)`);
}
