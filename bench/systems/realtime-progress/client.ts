/**
 * realtime-progress client side: our `ProgressClient` in Node (through isomorphic-ws -> ws),
 * one per simulated browser, with its defaults except for the reconnect delay, which is set
 * to the bench's common spread. After a drop it resumes its session by itself and subscribes
 * each task again with `since`; a client counts as restored once the server confirms that.
 */
import { CLIENT_TIMEOUT_MS, type ConnectClient, PROGRESS_PATH, RECONNECT } from '../types.js';
import { sentAtOf } from '../wire.js';
import { loadClient } from './ours.js';

const { ProgressClient } = await loadClient();

export const connectClient: ConnectClient = ({ port, hooks, reconnect }) =>
  new Promise((resolve, reject) => {
    const client = new ProgressClient({
      url: `ws://127.0.0.1:${port}${PROGRESS_PATH}`,
      userId: 'bench',
      autoReconnect: reconnect,
      maxReconnectAttempts: 20,
      connectTimeoutMs: CLIENT_TIMEOUT_MS,
      // The first attempt waits [50, 250] ms: 250 * (1 - 0.8 * random).
      backoff: {
        initialDelayMs: RECONNECT.maxDelayMs,
        jitter: 1 - RECONNECT.minDelayMs / RECONNECT.maxDelayMs,
        maxDelayMs: 2_000,
      },
    });
    const waiters = new Map<string, () => void>();
    let reconnected = false;
    client.on('progress', (event) => {
      if (event.snapshot) return; // the task's latest state, not a new event
      const sentAt = sentAtOf(event);
      if (sentAt !== undefined) hooks.event(sentAt);
    });
    client.on('reconnected', () => {
      reconnected = true;
    });
    client.on('subscribed', ({ taskId }) => {
      waiters.get(taskId)?.();
      waiters.delete(taskId);
      if (reconnected) {
        reconnected = false;
        hooks.restored();
      }
    });
    const timer = setTimeout(() => {
      client.close();
      reject(new Error('connect timeout'));
    }, CLIENT_TIMEOUT_MS);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve({
        subscribe: (taskId) =>
          new Promise((done, fail) => {
            const wait = setTimeout(() => fail(new Error(`no subscribed for ${taskId}`)), CLIENT_TIMEOUT_MS);
            waiters.set(taskId, () => {
              clearTimeout(wait);
              done();
            });
            client.subscribe(taskId);
          }),
        close: () => client.close(),
      });
    });
  });
