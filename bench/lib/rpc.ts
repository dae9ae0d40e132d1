/**
 * Request/reply over the child-process IPC channel, typed by a command map. The driver calls
 * commands on its children; children answer, and send notices (fire-and-forget), e.g. `ready`.
 */
import type { ChildProcess } from 'node:child_process';

/** Commands a child answers: name -> its argument and result types. */
export type CommandMap = Record<string, { args: unknown; result: unknown }>;

interface Request {
  readonly id: number;
  readonly cmd: string;
  readonly args: unknown;
}
interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}
export interface Notice {
  readonly notice: string;
  readonly value: unknown;
}

type Handlers<C extends CommandMap> = {
  [K in keyof C]: (args: C[K]['args']) => C[K]['result'] | Promise<C[K]['result']>;
};

/** The driver's handle on one child. */
export class Rpc<C extends CommandMap> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private noticeListener: ((notice: Notice) => void) | undefined;

  constructor(
    readonly child: ChildProcess,
    private readonly name: string,
  ) {
    child.on('message', (message: Reply | Notice) => {
      if ('notice' in message) return this.noticeListener?.(message);
      const waiter = this.pending.get(message.id);
      if (waiter === undefined) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`${this.name}: ${message.error ?? 'failed'}`));
    });
    child.on('exit', (code, signal) => {
      for (const waiter of this.pending.values())
        waiter.reject(new Error(`${this.name} exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  /** Calls a command; rejects after `timeoutMs` so that no scenario can hang the run. */
  call<K extends keyof C & string>(cmd: K, args: C[K]['args'], timeoutMs = 60_000): Promise<C[K]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as C[K]['result']);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      const request: Request = { id, cmd, args };
      this.child.send(request);
    });
  }

  onNotice(listener: ((notice: Notice) => void) | undefined): void {
    this.noticeListener = listener;
  }
}

/**
 * The child's side: answers commands with `handlers`, exits after answering `exit`, and exits
 * when the driver goes away (so no orphan keeps ports).
 */
export function serve<C extends CommandMap>(handlers: Handlers<C>): void {
  process.on('disconnect', () => process.exit(1));
  process.on('message', (message: Request) => void answer(message));
  const answer = async ({ id, cmd, args }: Request): Promise<void> => {
    let reply: Reply;
    try {
      const handler = handlers[cmd];
      if (handler === undefined) throw new Error(`unknown command ${cmd}`);
      reply = { id, ok: true, result: await handler(args) };
    } catch (error) {
      reply = {
        id,
        ok: false,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      };
    }
    process.send?.(reply, undefined, undefined, () => {
      if (cmd === 'exit') process.exit(0);
    });
  };
}

/** Sends a notice to the driver (no reply). */
export function notifyParent(notice: string, value: unknown): void {
  process.send?.({ notice, value } satisfies Notice);
}
