/**
 * The test side of `fuzz-server-process.ts`: starts the server process, sends it commands over
 * IPC and awaits the answers (no sleeping), and kills it when the test ends.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ProgressServerOptions } from '../../src/server/index.js';
import type { FuzzCommand, FuzzReply } from './fuzz-server-process.js';

type Request = FuzzCommand extends infer C ? (C extends FuzzCommand ? Omit<C, 'id'> : never) : never;
type Answer<T extends Request['type']> = Extract<
  FuzzReply,
  { type: { publish: 'published'; status: 'published'; stats: 'stats'; heap: 'heap'; close: 'closed' }[T] }
>;

export interface FuzzServer {
  readonly port: number;
  /** `ws://127.0.0.1:port/api/v1/ws` plus `query`. */
  wsUrl(query?: string): string;
  /** Sends a command and resolves with its answer; rejects if the process failed or crashed. */
  request<T extends Request['type']>(
    command: Extract<Request, { type: T }>,
    timeoutMs?: number,
  ): Promise<Answer<T>>;
  /** Uncaught exceptions and unhandled rejections the server process reported. */
  readonly crashes: readonly string[];
  /** Kills the process (if it is still running) and waits for it to exit. */
  kill(): Promise<void>;
}

/** Starts the server process with `options` (JSON-serialisable) and waits until it listens. */
export async function startFuzzServer(options: ProgressServerOptions): Promise<FuzzServer> {
  const script = fileURLToPath(new URL('./fuzz-server-process.ts', import.meta.url));
  const child: ChildProcess = fork(script, [], {
    env: { ...process.env, FUZZ_SERVER_OPTIONS: JSON.stringify(options) },
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = child.exitCode !== null ? Promise.resolve() : once(child, 'exit').then(() => {});
  const crashes: string[] = [];
  const pending = new Map<number, { resolve(reply: FuzzReply): void; reject(error: Error): void }>();
  let nextId = 1;
  let onReady: ((port: number) => void) | undefined;
  child.on('message', (reply: FuzzReply) => {
    if (reply.type === 'ready') onReady?.(reply.port);
    else if (reply.type === 'crash') crashes.push(reply.error);
    else {
      const waiter = pending.get(reply.id);
      pending.delete(reply.id);
      if (reply.type === 'failed') waiter?.reject(new Error(reply.error));
      else waiter?.resolve(reply);
    }
  });
  void exited.then(() => {
    for (const waiter of pending.values()) waiter.reject(new Error('the fuzz server process exited'));
    pending.clear();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the fuzz server process did not start within 20 s')),
      20_000,
    );
    onReady = (ready) => {
      clearTimeout(timer);
      resolve(ready);
    };
    void exited.then(() => reject(new Error('the fuzz server process exited before it was ready')));
  });
  return {
    port,
    crashes,
    wsUrl: (query = '') => `ws://127.0.0.1:${port}/api/v1/ws${query === '' ? '' : `?${query}`}`,
    request: (command, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`no answer to ${command.type} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (reply) => {
            clearTimeout(timer);
            resolve(reply as Answer<typeof command.type>);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({ ...command, id });
      }),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
