/**
 * The closed loop's feedback path: a loopback TCP connection from the load generator straight
 * to the bench server process, carrying the running total of deliveries as text lines. It
 * bypasses the driver, so a busy third process never sits in the loop.
 */
import { createConnection, createServer, type Socket } from 'node:net';

/** Server side: calls `onAck` with each total received; resolves with the port. */
export function listenForAcks(onAck: (delivered: number) => void): Promise<number> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    let rest = '';
    socket.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      // Totals only grow: the last complete line is all that matters.
      const last = lines.at(-1);
      if (last !== undefined) onAck(Number(last));
    });
    socket.on('error', () => {});
  });
  server.unref();
  return new Promise((resolve) => {
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

/** Load-generator side: `send(total)` writes one line; nothing is sent before the connection is up. */
export async function connectAcks(port: number): Promise<{ send(delivered: number): void; close(): void }> {
  const socket: Socket = createConnection({ port, host: '127.0.0.1', noDelay: true });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    send: (delivered) => void socket.write(`${delivered}\n`),
    close: () => socket.destroy(),
  };
}
