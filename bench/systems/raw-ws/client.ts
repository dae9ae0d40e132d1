/**
 * raw ws client side: a `ws` socket speaking the bench's subset of the protocol. After a drop it
 * reconnects (after the bench's common delay) and subscribes again; nothing is replayed.
 */
import WebSocket from 'ws';
import { CLIENT_TIMEOUT_MS, type ConnectClient, RAW_WS_PATH, RECONNECT } from '../types.js';
import { sentAtOf } from '../wire.js';

/** Reconnect attempts before a client gives up (bounded, like every loop of the bench). */
const MAX_ATTEMPTS = 20;

/**
 * A raw ws client for the endpoint at `path`. `--raw-client` points it at our server (which
 * speaks a superset of its protocol), to tell a server's share of a result from its client's.
 */
export const rawClientFor =
  (path: string): ConnectClient =>
  ({ port, hooks, reconnect }) => {
    const url = `ws://127.0.0.1:${port}${path}`;
    const tasks = new Set<string>();
    const waiting = new Map<string, () => void>();
    let socket: WebSocket;
    let closed = false;
    let attempts = 0;

    const subscribe = (taskId: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no subscribed for ${taskId}`)), CLIENT_TIMEOUT_MS);
        waiting.set(taskId, () => {
          clearTimeout(timer);
          resolve();
        });
        socket.send(JSON.stringify({ action: 'subscribe', task_id: taskId }));
      });

    const onMessage = (data: WebSocket.RawData): void => {
      const message = JSON.parse(String(data)) as { type?: string; task_id?: string };
      if (message.type === 'progress') {
        const sentAt = sentAtOf(message);
        if (sentAt !== undefined) hooks.event(sentAt);
      } else if (message.type === 'subscribed') {
        const taskId = message.task_id ?? '';
        waiting.get(taskId)?.();
        waiting.delete(taskId);
      }
    };

    /** Resolves once the socket is open; with `restore`, subscribes again and reports it. */
    const open = (restore: boolean): Promise<void> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url, { perMessageDeflate: false });
        socket = ws;
        let opened = false;
        const timer = setTimeout(() => ws.terminate(), CLIENT_TIMEOUT_MS);
        ws.on('open', () => {
          opened = true;
          attempts = 0;
          clearTimeout(timer);
          resolve();
          if (restore) void Promise.all([...tasks].map(subscribe)).then(() => hooks.restored());
        });
        ws.on('message', onMessage);
        // A reset socket reports an error before its close; the close handler decides what next.
        ws.on('error', () => {});
        ws.on('close', () => {
          clearTimeout(timer);
          if (!opened) reject(new Error('connection failed'));
          // Only a client that once got through reconnects; a failed first attempt is reported, not retried.
          if (socket === ws && !closed && reconnect && (opened || restore)) scheduleReconnect();
        });
      });

    const scheduleReconnect = (): void => {
      if (++attempts > MAX_ATTEMPTS) return;
      const spread = RECONNECT.maxDelayMs - RECONNECT.minDelayMs;
      // Doubles after a failed attempt, like the other systems' backoff.
      const delayMs = (RECONNECT.minDelayMs + Math.random() * spread) * Math.min(8, 2 ** (attempts - 1));
      setTimeout(() => {
        if (!closed) open(true).catch(() => {});
      }, delayMs);
    };

    return open(false).then(() => ({
      subscribe(taskId) {
        tasks.add(taskId);
        return subscribe(taskId);
      },
      close() {
        closed = true;
        socket.terminate();
      },
    }));
  };

export const connectClient = rawClientFor(RAW_WS_PATH);
