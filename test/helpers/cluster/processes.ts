/**
 * Spawning the cluster's child processes (`node --import tsx <script>`), talking to them over
 * IPC without sleeping, and killing every one of them after each test.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export interface ChildMessage {
  readonly type: string;
  readonly [key: string]: unknown;
}

export interface Child {
  readonly process: ChildProcess;
  /** Every IPC message received so far, in order. */
  readonly messages: ChildMessage[];
  send(message: Record<string, unknown>): void;
  /** Resolves with the first message (already received or future) matching `predicate`. */
  waitFor(predicate: (message: ChildMessage) => boolean, timeoutMs?: number): Promise<ChildMessage>;
  /** Sends `signal` (SIGKILL by default) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Resolves once the process has exited. */
  readonly exited: Promise<void>;
}

const running = new Set<Child>();

/** Starts `test/helpers/cluster/<script>` with `env` added to this process's environment. */
export function spawnChild(script: 'node.ts' | 'publisher.ts', env: Record<string, string>): Child {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  const child = fork(path, [], {
    env: { ...process.env, ...env },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: ChildMessage[] = [];
  const waiters = new Set<() => void>();
  child.on('message', (message: ChildMessage) => {
    messages.push(message);
    for (const wake of waiters) wake();
  });
  const exited = child.exitCode !== null ? Promise.resolve() : once(child, 'exit').then(() => {});
  void exited.then(() => {
    for (const wake of waiters) wake();
  });
  const handle: Child = {
    process: child,
    messages,
    exited,
    send: (message) => {
      if (child.connected) child.send(message);
    },
    waitFor: (predicate, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = messages.find(predicate);
          if (found !== undefined) {
            finish();
            resolve(found);
            return true;
          }
          if (child.exitCode !== null || child.signalCode !== null) {
            finish();
            reject(
              new Error(
                `${script} exited (${child.exitCode ?? child.signalCode}) before the awaited message`,
              ),
            );
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          finish();
          reject(
            new Error(
              `${script} sent no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages.slice(-3))}`,
            ),
          );
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        if (!check()) waiters.add(check);
      }),
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

/** SIGKILLs every child still running (call it in `afterEach`). */
export async function killAllChildren(): Promise<void> {
  await Promise.all([...running].map((child) => child.kill('SIGKILL')));
}
