/**
 * The worker of the multi-process tests: `createProgressPublisher` on the shared storage and a
 * publish-only Redis bus, no WebSocket server. On `{ type: 'run', tasks, events, pauseMs }` it
 * publishes `events` progress events per task, round-robin over the tasks, then a `completed`
 * status per task (optionally holding before them until told to continue), reporting
 * `{ type: 'published', round }` after each round and `{ type: 'done', busFailures }` at the end. A publish whose bus step fails is stored anyway (the
 * subscribers recover it from storage), so it is counted and the run goes on.
 */
import { createProgressPublisher } from '../../../src/server/index.js';
import { childDeps, tell } from './deps.js';

interface RunCommand {
  type: 'run';
  tasks: string[];
  events: number;
  /** Pause between rounds, so that a test can act mid-stream. */
  pauseMs: number;
  /** Before the statuses, say `{ type: 'holding' }` and wait for `{ type: 'continue' }`. */
  holdBeforeStatus?: boolean;
}

const deps = childDeps({ subscribe: false });
const publisher = createProgressPublisher({ storage: deps.storage, bus: deps.bus });
let busFailures = 0;

async function publishing(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    // Stored but not delivered live: the nodes catch up from storage.
    if (!/stored but the bus failed/.test((error as Error).message)) throw error;
    busFailures += 1;
  }
}

let release: (() => void) | undefined;

async function execute({ tasks, events, pauseMs, holdBeforeStatus }: RunCommand): Promise<void> {
  for (let round = 1; round <= events; round++) {
    for (const task of tasks) {
      await publishing(() =>
        publisher.publish(task, { progress: Math.floor((round * 99) / events), message: `round ${round}` }),
      );
    }
    tell({ type: 'published', round });
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  if (holdBeforeStatus === true) {
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    tell({ type: 'holding' });
    await released;
  }
  for (const task of tasks)
    await publishing(() => publisher.setStatus(task, 'completed', { result: { rounds: events } }));
  tell({ type: 'done', busFailures });
}

process.on('message', (message: RunCommand | { type: 'continue' }) => {
  if (message?.type === 'continue') release?.();
  if (message?.type !== 'run') return;
  execute(message).catch((error: Error) => tell({ type: 'failed', message: error.stack ?? error.message }));
});
tell({ type: 'ready', pid: process.pid });
