/**
 * Scenario E's bookkeeping in the load generator: per client, when it was restored after the
 * drop and when it first got an event sent after the drop (the replay of what it missed).
 */

import { nowMs, sleep } from './clock.js';
import type { LoadCommands } from './commands.js';

type WaitArgs = LoadCommands['waitStorm']['args'];
type WaitResult = LoadCommands['waitStorm']['result'];

export function createStormWatch() {
  let armedAtMs = Number.POSITIVE_INFINITY;
  let restoredAt = new Float64Array(0);
  let replayedAt = new Float64Array(0);

  const doneAt = (index: number, requireReplay: boolean): number => {
    const restored = restoredAt[index]!;
    if (restored === 0) return 0;
    if (!requireReplay) return restored;
    const replayed = replayedAt[index]!;
    return replayed === 0 ? 0 : Math.max(restored, replayed);
  };

  return {
    arm(clients: number): number {
      restoredAt = new Float64Array(clients);
      replayedAt = new Float64Array(clients);
      armedAtMs = nowMs();
      return armedAtMs;
    },
    restored(index: number, atMs: number): void {
      if (index < restoredAt.length && restoredAt[index] === 0) restoredAt[index] = atMs;
    },
    event(index: number, sentAtMs: number, atMs: number): void {
      if (sentAtMs >= armedAtMs && index < replayedAt.length && replayedAt[index] === 0)
        replayedAt[index] = atMs;
    },
    async wait({ requireReplay, timeoutMs }: WaitArgs): Promise<WaitResult> {
      const clients = restoredAt.length;
      const deadline = nowMs() + timeoutMs;
      const countDone = (): number => {
        let done = 0;
        for (let index = 0; index < clients; index++) if (doneAt(index, requireReplay) > 0) done++;
        return done;
      };
      while (countDone() < clients && nowMs() < deadline) await sleep(5);
      let lastDoneAtMs = 0;
      let restored = 0;
      let replayed = 0;
      for (let index = 0; index < clients; index++) {
        lastDoneAtMs = Math.max(lastDoneAtMs, doneAt(index, requireReplay));
        if (restoredAt[index]! > 0) restored++;
        if (replayedAt[index]! > 0) replayed++;
      }
      return { lastDoneAtMs, restored, replayed, done: countDone(), clients };
    },
  };
}
