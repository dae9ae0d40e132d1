/** Small promise helpers of the Redis bus: bounded waits on ioredis connections. */
import type { RedisConnection } from './redis-options.js';

/** Rejects with `no reply within N ms` when `promise` takes longer. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A start-up gate: until `connection` has been `ready` once, the returned function waits for
 * that (at most `waitMs`); afterwards it returns at once, so that a connection lost later is
 * seen as down immediately rather than waited for.
 */
export function startupGate(connection: RedisConnection, waitMs: number): () => Promise<void> {
  let opened = connection.status === 'ready';
  const ready = new Promise<void>((resolve) => {
    if (opened) return resolve();
    connection.once('ready', () => {
      opened = true;
      resolve();
    });
  });
  return async () => {
    if (opened || waitMs === 0) return;
    await withTimeout(ready, waitMs).catch(() => {});
  };
}
