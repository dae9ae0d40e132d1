/**
 * In-process V8 CPU profiling of the bench server, started and stopped around one measured
 * phase (rather than `--cpu-prof`, which covers start-up, connection setup and teardown too).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

export function createProfiler(): { start(): Promise<null>; stop(path: string): Promise<null> } {
  let session: Session | undefined;
  return {
    async start() {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      // 100 us: fine enough for per-event work of a few microseconds, over a 10 s window.
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
      return null;
    },
    async stop(path) {
      if (session === undefined) throw new Error('profiler not started');
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      session = undefined;
      writeFileSync(path, JSON.stringify(profile));
      return null;
    },
  };
}
