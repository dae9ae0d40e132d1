/**
 * A TCP proxy between clients and a server that a test can cut and restore: the network side
 * of a disconnect, where neither end closes on purpose.
 *
 * - `cut(pick?)` destroys open connections (both ends see a reset), new ones still pass;
 * - `down()` cuts everything and refuses new connections until `restore()`;
 * - `blackhole(direction)` forwards nothing more, in both directions or only to the client,
 *   while every socket stays open: the half-open case that only a heartbeat detects, or
 *   events lost in flight (the test can read what was lost). `restore()` drops the connections that lost bytes (their streams
 *   are broken) and lets new ones pass.
 */

import type { AddressInfo } from 'node:net';
import net from 'node:net';

type Mode = 'pass' | 'down' | 'blackhole' | 'blackhole-to-client';

interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  /** Bytes were dropped: this stream can never be forwarded again. */
  broken: boolean;
}

export interface TcpProxy {
  readonly port: number;
  /** Open connection pairs. */
  readonly openConnections: number;
  /** Connections accepted so far. */
  readonly acceptedConnections: number;
  /** What the server sent that was dropped instead of forwarded (latin1, the last 1 MiB). */
  readonly droppedToClientText: string;
  /** Destroys the open connections `pick` chooses (all by default). Returns how many. */
  cut(pick?: (index: number) => boolean): number;
  down(): void;
  blackhole(direction?: 'both' | 'to-client'): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let mode: Mode = 'pass';
  let accepted = 0;
  let droppedToClient = '';

  const destroy = (pair: Pair): void => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  };

  const server = net.createServer((client) => {
    accepted++;
    if (mode === 'down') {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    const pair: Pair = { client, upstream, broken: false };
    pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk) => {
      if (mode === 'blackhole' || pair.broken) {
        pair.broken = true;
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (mode === 'blackhole' || mode === 'blackhole-to-client' || pair.broken) {
        pair.broken = true;
        droppedToClient = (droppedToClient + chunk.toString('latin1')).slice(-1_048_576);
        return;
      }
      client.write(chunk);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', () => destroy(pair));
      socket.on('close', () => destroy(pair));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const cutWhere = (pick: (pair: Pair, index: number) => boolean): number => {
    const chosen = [...pairs].filter(pick);
    for (const pair of chosen) destroy(pair);
    return chosen.length;
  };
  const cut = (pick: (index: number) => boolean = () => true): number => cutWhere((_, index) => pick(index));

  return {
    port,
    get openConnections() {
      return pairs.size;
    },
    get acceptedConnections() {
      return accepted;
    },
    get droppedToClientText() {
      return droppedToClient;
    },
    cut,
    down() {
      mode = 'down';
      cut();
    },
    blackhole(direction = 'both') {
      mode = direction === 'both' ? 'blackhole' : 'blackhole-to-client';
    },
    restore() {
      mode = 'pass';
      cutWhere((pair) => pair.broken);
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
