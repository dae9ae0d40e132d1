/**
 * socket.io-client 4.8, websocket transport only, one Manager per client (`forceNew`) as
 * separate browsers would have. Reconnect delays are set to the bench's common spread.
 */
import { io } from 'socket.io-client';
import { CLIENT_TIMEOUT_MS, type ConnectClient, RECONNECT } from '../types.js';
import { sentAtOf } from '../wire.js';

/** socket.io-client draws `delay * (1 ± factor)`; this centres that on the bench's [50, 250] ms. */
const CENTRE_MS = (RECONNECT.minDelayMs + RECONNECT.maxDelayMs) / 2;
const FACTOR = (RECONNECT.maxDelayMs - CENTRE_MS) / CENTRE_MS;

export const connectClient: ConnectClient = ({ port, hooks, reconnect }) =>
  new Promise((resolve, reject) => {
    const socket = io(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: reconnect,
      reconnectionAttempts: 20,
      reconnectionDelay: CENTRE_MS,
      randomizationFactor: FACTOR,
      timeout: CLIENT_TIMEOUT_MS,
    });
    const tasks = new Set<string>();
    const subscribe = async (taskId: string): Promise<void> => {
      await socket.timeout(CLIENT_TIMEOUT_MS).emitWithAck('subscribe', taskId);
    };
    let connected = false;
    socket.on('progress', (message: unknown) => {
      const sentAt = sentAtOf(message);
      if (sentAt !== undefined) hooks.event(sentAt);
    });
    socket.on('connect', () => {
      if (!connected) {
        connected = true;
        return resolve({
          subscribe(taskId) {
            tasks.add(taskId);
            return subscribe(taskId);
          },
          close: () => socket.disconnect(),
        });
      }
      // Recovered: rooms are back and missed packets were replayed. Otherwise join again.
      if (socket.recovered) return hooks.restored();
      void Promise.all([...tasks].map(subscribe)).then(() => hooks.restored());
    });
    socket.on('connect_error', (error) => {
      if (!connected) {
        socket.disconnect();
        reject(error);
      }
    });
  });
