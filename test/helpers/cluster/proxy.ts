/**
 * A TCP load balancer for the cluster tests, in front of the server nodes: each new connection
 * goes to the next live backend (round-robin, no stickiness), bytes are piped both ways, and
 * when either side closes the other is destroyed, so a client whose node died sees its socket
 * drop and reconnects, landing on another node. `remove(port)` is what a health check would do.
 */
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface LoadBalancer {
  readonly port: number;
  /** Stops routing new connections to this backend. */
  remove(port: number): void;
  add(port: number): void;
  /** Backend port of each connection made so far, in order. */
  readonly routed: number[];
  close(): Promise<void>;
}

export async function startLoadBalancer(backends: readonly number[]): Promise<LoadBalancer> {
  const live = [...backends];
  const routed: number[] = [];
  const sockets = new Set<Socket>();
  let next = 0;
  const server: Server = createServer((client) => {
    const port = live[next++ % Math.max(live.length, 1)];
    if (port === undefined) {
      client.destroy();
      return;
    }
    routed.push(port);
    const backend = createConnection({ host: '127.0.0.1', port });
    for (const socket of [client, backend]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        backend.destroy();
      });
    }
    client.pipe(backend);
    backend.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('load balancer has no port');
  return {
    port: address.port,
    routed,
    remove(port) {
      const index = live.indexOf(port);
      if (index >= 0) live.splice(index, 1);
    },
    add(port) {
      if (!live.includes(port)) live.push(port);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
