/**
 * One measured run: a fresh server process and a fresh load generator for one system, torn
 * down afterwards, so no run inherits another's heap, sockets or JIT state.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerConfig, SystemName } from '../systems/types.js';
import type { LoadCommands, ServerCommands, ServerProcessArgs } from './commands.js';
import { Rpc } from './rpc.js';

const SERVER_SCRIPT = fileURLToPath(new URL('../server-process.ts', import.meta.url));
const LOAD_SCRIPT = fileURLToPath(new URL('../load-process.ts', import.meta.url));
const READY_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 5_000;

export interface Session {
  readonly server: Rpc<ServerCommands>;
  readonly load: Rpc<LoadCommands>;
  readonly port: number;
  /** The server's ack listener (closed-loop publishing). */
  readonly ackPort: number;
  /** Runs `body` under the CPU profiler of both processes when profiling was asked for (`--cpu-prof`). */
  profiled<T>(phase: string, body: () => Promise<T>): Promise<T>;
}

export interface SessionOptions {
  readonly system: SystemName;
  readonly config: ServerConfig;
  /** Where to write server CPU profiles of the measured phases, named `<profileName>-<phase>`. */
  readonly profileDir: string | undefined;
  readonly profileName: string;
}

/**
 * Extra Node flags for the server process and the load generator, space-separated, for
 * diagnosis only (`--trace-gc`, `--no-turbo-inlining` for a profile that names inlined
 * functions): Node refuses most V8 flags in `NODE_OPTIONS`.
 */
const SERVER_FLAGS_ENV = 'BENCH_SERVER_FLAGS';
const LOAD_FLAGS_ENV = 'BENCH_LOAD_FLAGS';

const nodeFlags = (name: string): string[] => process.env[name]?.split(' ').filter(Boolean) ?? [];

export async function withSession<T>(
  options: SessionOptions,
  body: (session: Session) => Promise<T>,
): Promise<T> {
  const args: ServerProcessArgs = { system: options.system, config: options.config };
  const serverChild = start(
    SERVER_SCRIPT,
    ['--expose-gc', ...nodeFlags(SERVER_FLAGS_ENV)],
    [JSON.stringify(args)],
  );
  const loadChild = start(LOAD_SCRIPT, nodeFlags(LOAD_FLAGS_ENV), [options.system]);
  const server = new Rpc<ServerCommands>(serverChild, `${options.system} server`);
  const load = new Rpc<LoadCommands>(loadChild, `${options.system} load generator`);
  try {
    const [serverReady] = await Promise.all([ready(server), ready(load)]);
    const { port, ackPort } = serverReady as { port: number; ackPort: number };
    const { profileDir, profileName } = options;
    const profiled = async <R>(phase: string, run: () => Promise<R>): Promise<R> => {
      if (profileDir === undefined) return run();
      await Promise.all([server.call('profileStart', null), load.call('profileStart', null)]);
      try {
        return await run();
      } finally {
        mkdirSync(profileDir, { recursive: true });
        const path = (side: string): string => join(profileDir, `${profileName}-${phase}-${side}.cpuprofile`);
        await Promise.all([
          server.call('profileStop', { path: path('server') }),
          load.call('profileStop', { path: path('clients') }),
        ]);
      }
    };
    return await body({ server, load, port, ackPort, profiled });
  } finally {
    // The load generator first, so the server sees its clients leave before it is asked to close.
    await stop(load);
    await stop(server);
  }
}

function start(script: string, nodeFlags: readonly string[], args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function ready<C extends ServerCommands | LoadCommands>(rpc: Rpc<C>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child did not become ready')), READY_TIMEOUT_MS);
    rpc.child.once('exit', (code) => reject(new Error(`child exited with ${code} before it was ready`)));
    rpc.onNotice((notice) => {
      if (notice.notice !== 'ready') return;
      clearTimeout(timer);
      resolve(notice.value);
    });
  });
}

async function stop<C extends ServerCommands | LoadCommands>(rpc: Rpc<C>): Promise<void> {
  const { child } = rpc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  await rpc.call('exit', null, EXIT_TIMEOUT_MS).catch(() => child.kill('SIGKILL'));
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
