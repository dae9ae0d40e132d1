/**
 * Socket.IO 4.8: one room per task, websocket transport only. With `recovery` on (scenario E)
 * it uses connection state recovery, Socket.IO's own answer to "resume and replay what I
 * missed"; the other scenarios run with the defaults.
 */
import { Server, type ServerOptions } from 'socket.io';
import type { CreateSystemServer } from '../types.js';
import { progressMessage } from '../wire.js';

export const createServer: CreateSystemServer = async (httpServer, config) => {
  const options: Partial<ServerOptions> = { transports: ['websocket'], serveClient: false };
  // Same window as realtime-progress's default session TTL.
  if (config.recovery)
    options.connectionStateRecovery = { maxDisconnectionDuration: 120_000, skipMiddlewares: true };
  const io = new Server(httpServer, options);
  const seqs = new Map<string, number>();

  io.on('connection', (socket) => {
    socket.on('subscribe', (taskId: unknown, ack?: unknown) => {
      if (typeof taskId !== 'string' || taskId.length === 0 || taskId.length > 100) return;
      void socket.join(taskId);
      if (typeof ack === 'function') ack({ topics: [...socket.rooms].filter((room) => room !== socket.id) });
    });
  });

  return {
    publish(taskId, update) {
      const seq = (seqs.get(taskId) ?? 0) + 1;
      seqs.set(taskId, seq);
      io.to(taskId).emit('progress', progressMessage(taskId, seq, update));
      return undefined;
    },
    clientCount: () => io.engine.clientsCount,
    close: () => new Promise<void>((resolve) => void io.close(() => resolve())),
  };
};
