/**
 * A progress server in its own process for the fuzz run (`node --expose-gc --import tsx
 * fuzz-server-process.ts`), so its heap can be measured after a real garbage collection and
 * nothing the test process allocates is counted. Options come as JSON in
 * `FUZZ_SERVER_OPTIONS`; commands and answers go over IPC (see `fuzz-child.ts`).
 */
import type { Logger, ProgressServerOptions } from '../../src/server/index.js';
import { startServer } from './progress-server.js';

export type FuzzCommand =
  | { readonly id: number; readonly type: 'publish'; readonly taskId: string; readonly progress: number }
  | { readonly id: number; readonly type: 'status'; readonly taskId: string }
  | { readonly id: number; readonly type: 'stats' }
  | { readonly id: number; readonly type: 'heap' }
  | { readonly id: number; readonly type: 'close' };

export type FuzzReply =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'crash'; readonly error: string }
  | { readonly id: number; readonly type: 'published'; readonly seq: number }
  | {
      readonly id: number;
      readonly type: 'stats';
      readonly totalClients: number;
      readonly warnings: number;
      readonly errors: readonly string[];
    }
  | { readonly id: number; readonly type: 'heap'; readonly heapUsed: number; readonly rss: number }
  | { readonly id: number; readonly type: 'closed' }
  | { readonly id: number; readonly type: 'failed'; readonly error: string };

const send = (reply: FuzzReply): void => {
  process.send?.(reply);
};

process.on('uncaughtException', (error) => {
  send({ type: 'crash', error: String(error?.stack ?? error) });
  process.exitCode = 1;
});
process.on('unhandledRejection', (error) => {
  send({ type: 'crash', error: String((error as Error | undefined)?.stack ?? error) });
});

const errors: string[] = [];
let warnings = 0;
const logger: Logger = {
  debug() {},
  info() {},
  warn() {
    warnings++;
  },
  error(fields, message) {
    errors.push(`${message} ${String((fields.err as Error | undefined)?.message ?? '')}`);
  },
};

const options = JSON.parse(process.env.FUZZ_SERVER_OPTIONS ?? '{}') as ProgressServerOptions;
const t = await startServer({ ...options, logger });

/** Collects garbage until the heap stops shrinking (bounded), then reads it. */
async function settledHeap(): Promise<{ heapUsed: number; rss: number }> {
  const collect = globalThis.gc;
  if (collect === undefined) throw new Error('run with --expose-gc');
  // Expired sessions are garbage too: drop them the way the cleanup timer would.
  await t.storage.cleanup(Date.now());
  let previous = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    collect();
    await new Promise((resolve) => setImmediate(resolve));
    const used = process.memoryUsage().heapUsed;
    if (used >= previous - 16 * 1024) break;
    previous = used;
  }
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

process.on('message', (command: FuzzCommand) => {
  void (async (): Promise<FuzzReply> => {
    switch (command.type) {
      case 'publish': {
        const receipt = await t.server.publish(command.taskId, {
          progress: command.progress,
          message: 'fuzz',
        });
        return { id: command.id, type: 'published', seq: receipt.seq };
      }
      case 'status': {
        const receipt = await t.server.setStatus(command.taskId, 'completed');
        return { id: command.id, type: 'published', seq: receipt.seq };
      }
      case 'stats':
        return {
          id: command.id,
          type: 'stats',
          totalClients: t.server.stats().totalClients,
          warnings,
          errors,
        };
      case 'heap':
        return { id: command.id, type: 'heap', ...(await settledHeap()) };
      case 'close':
        await t.close();
        return { id: command.id, type: 'closed' };
    }
  })().then(send, (error: unknown) => send({ id: command.id, type: 'failed', error: String(error) }));
});

send({ type: 'ready', port: t.port });
