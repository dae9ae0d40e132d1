/**
 * The baseline: the simplest correct fan-out on `ws`. A task's event is serialised once and
 * the same string handed to `send` of each subscriber. No storage, no resume, no heartbeat.
 * It speaks the subset of realtime-progress's protocol the bench uses (subscribe, progress).
 */
import { type WebSocket, WebSocketServer } from 'ws';
import { type CreateSystemServer, RAW_WS_PATH } from '../types.js';
import { progressMessage } from '../wire.js';

export const createServer: CreateSystemServer = async (httpServer) => {
  const wss = new WebSocketServer({
    server: httpServer,
    path: RAW_WS_PATH,
    perMessageDeflate: false,
    maxPayload: 65_536,
  });
  const subscribers = new Map<string, Set<WebSocket>>();
  const seqs = new Map<string, number>();

  wss.on('connection', (ws) => {
    const mine = new Set<string>();
    ws.on('message', (data) => {
      const taskId = subscribeTarget(String(data));
      if (taskId === undefined) return;
      mine.add(taskId);
      const set = subscribers.get(taskId) ?? new Set();
      subscribers.set(taskId, set);
      set.add(ws);
      ws.send(JSON.stringify({ type: 'subscribed', task_id: taskId, payload: { topics: [...mine] } }));
    });
    ws.on('close', () => {
      for (const taskId of mine) subscribers.get(taskId)?.delete(ws);
    });
    // A reset socket reports an error before its close; the close handler does the cleanup.
    ws.on('error', () => {});
  });

  return {
    publish(taskId, update) {
      const seq = (seqs.get(taskId) ?? 0) + 1;
      seqs.set(taskId, seq);
      const frame = JSON.stringify(progressMessage(taskId, seq, update));
      const set = subscribers.get(taskId);
      if (set !== undefined) for (const ws of set) ws.send(frame);
      return undefined;
    },
    clientCount: () => wss.clients.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
};

/** The task of a `{"action":"subscribe","task_id"}` frame; anything else is ignored. */
function subscribeTarget(text: string): string | undefined {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { action, task_id: taskId } = (message ?? {}) as { action?: unknown; task_id?: unknown };
  return action === 'subscribe' && typeof taskId === 'string' && taskId.length > 0 && taskId.length <= 100
    ? taskId
    : undefined;
}
