/**
 * Conformance cases for `appendEvents`: seq assignment, batches, concurrency and the
 * lifecycle rule (no progress on a finished task).
 */
import type { AppendResult } from '../adapters/storage/types.js';
import type { TaskStatus } from '../shared/protocol.js';
import {
  accepted,
  appendProgress,
  type CaseContext,
  iso,
  progress,
  range,
  seqsOf,
  status,
  T0,
  taskError,
} from './fixtures.js';

export function appendCases({ describe, it, expect, open }: CaseContext): void {
  describe('appendEvents', () => {
    it('returns an empty list for an empty batch', async () => {
      const storage = await open();
      expect(await storage.appendEvents([])).toEqual([]);
    });

    it("assigns seq 1, 2, 3 to a task's first events", async () => {
      const storage = await open();
      expect(
        seqsOf(await storage.appendEvents([progress('t', 1), progress('t', 2), progress('t', 3)])),
      ).toEqual([1, 2, 3]);
    });

    it('continues the seq across calls', async () => {
      const storage = await open();
      await storage.appendEvents([progress('t', 1), progress('t', 2)]);
      expect(seqsOf(await storage.appendEvents([progress('t', 3)]))).toEqual([3]);
    });

    it('returns each stored event with its payload and createdAtMs', async () => {
      const storage = await open();
      const results = await storage.appendEvents([
        progress('t', 1, T0 + 1000, { phase: 'load' }),
        taskError('t', T0 + 2000, 'step-2', 'disk full'),
        status('t', 'failed', T0 + 3000, { error: 'gave up', result: { retries: 3 } }),
      ]);
      expect(results).toEqual([
        {
          ok: true,
          event: {
            taskId: 't',
            seq: 1,
            type: 'progress',
            createdAtMs: T0 + 1000,
            payload: {
              task_id: 't',
              progress: 10,
              current_step: 'step 1',
              total_steps: 10,
              completed_steps: 1,
              message: 'event 1',
              metadata: { phase: 'load' },
              status: 'running',
              timestamp: iso(T0 + 1000),
            },
          },
        },
        {
          ok: true,
          event: {
            taskId: 't',
            seq: 2,
            type: 'error',
            createdAtMs: T0 + 2000,
            payload: { execution_id: 't', step_id: 'step-2', error: 'disk full', timestamp: iso(T0 + 2000) },
          },
        },
        {
          ok: true,
          event: {
            taskId: 't',
            seq: 3,
            type: 'status',
            createdAtMs: T0 + 3000,
            payload: {
              task_id: 't',
              status: 'failed',
              error: 'gave up',
              result: { retries: 3 },
              timestamp: iso(T0 + 3000),
            },
          },
        },
      ]);
    });

    it('counts seq separately for interleaved tasks', async () => {
      const storage = await open();
      const results = await storage.appendEvents([
        progress('a', 1),
        progress('b', 1),
        progress('a', 2),
        progress('b', 2),
        progress('a', 3),
      ]);
      expect(results.map((result) => [accepted(result).taskId, accepted(result).seq])).toEqual([
        ['a', 1],
        ['b', 1],
        ['a', 2],
        ['b', 2],
        ['a', 3],
      ]);
    });

    it('returns results aligned with the batch, refusals in place', async () => {
      const storage = await open();
      const results = await storage.appendEvents([
        progress('a', 1),
        status('a', 'completed', T0 + 2000),
        progress('a', 3),
        progress('b', 1),
        status('a', 'running', T0 + 4000),
        progress('a', 5),
      ]);
      const summary = (result: AppendResult) =>
        result.ok ? [result.event.taskId, result.event.seq] : result.code;
      expect(results.map(summary)).toEqual([
        ['a', 1],
        ['a', 2],
        'TASK_FINISHED',
        ['b', 1],
        ['a', 3],
        ['a', 4],
      ]);
    });

    it('assigns seqs 1..20 exactly once to 20 concurrent calls for one task', async () => {
      const storage = await open();
      const calls = range(1, 20).map((n) => storage.appendEvents([progress('t', n)]));
      const seqs = (await Promise.all(calls)).map((results) => accepted(results[0]).seq);
      expect([...seqs].sort((x, y) => x - y)).toEqual(range(1, 20));
      const history = await storage.getHistory('t', { limit: 100 });
      expect(history.map((event) => event.seq)).toEqual(range(1, 20));
      // Each call's event is stored under the seq that call was given.
      const messageBySeq = new Map(
        history.map((event) => [event.seq, (event.payload as { message: string }).message]),
      );
      expect(seqs.map((seq) => messageBySeq.get(seq))).toEqual(range(1, 20).map((n) => `event ${n}`));
    });

    it('assigns gapless seqs to concurrent calls that each write to two tasks', async () => {
      const storage = await open();
      await Promise.all(range(1, 15).map((n) => storage.appendEvents([progress('a', n), progress('b', n)])));
      const [a, b] = await Promise.all([
        storage.getHistory('a', { limit: 100 }),
        storage.getHistory('b', { limit: 100 }),
      ]);
      expect({ a: a.map((event) => event.seq), b: b.map((event) => event.seq) }).toEqual({
        a: range(1, 15),
        b: range(1, 15),
      });
    });
  });

  describe('lifecycle', () => {
    const finished: TaskStatus[] = ['completed', 'failed', 'cancelled'];
    for (const value of finished) {
      it(`refuses progress on a ${value} task without taking a seq`, async () => {
        const storage = await open();
        await storage.appendEvents([progress('t', 1), status('t', value, T0 + 2000)]);
        const [refused] = await storage.appendEvents([progress('t', 3)]);
        expect(refused?.ok === false ? refused.code : 'accepted').toBe('TASK_FINISHED');
        expect(typeof (refused?.ok === false ? refused.message : undefined)).toBe('string');
        expect((await storage.getSnapshot('t'))?.seq).toBe(2);
        expect((await storage.getHistory('t', { limit: 10 })).map((event) => event.seq)).toEqual([1, 2]);
      });
    }

    it('accepts progress again after the task is reopened with status running', async () => {
      const storage = await open();
      await storage.appendEvents([progress('t', 1), status('t', 'completed', T0 + 2000)]);
      const results = await storage.appendEvents([status('t', 'running', T0 + 3000), progress('t', 4)]);
      expect(seqsOf(results)).toEqual([3, 4]);
      expect((await storage.getSnapshot('t'))?.state.status).toBe('running');
    });

    it('accepts status and error events on a finished task', async () => {
      const storage = await open();
      await storage.appendEvents([status('t', 'completed', T0 + 1000)]);
      const results = await storage.appendEvents([
        taskError('t', T0 + 2000, 'cleanup', 'temp files left'),
        status('t', 'failed', T0 + 3000, { error: 'late failure' }),
      ]);
      expect(seqsOf(results)).toEqual([2, 3]);
    });

    it('marks a pending task running on its first progress', async () => {
      const storage = await open();
      await storage.appendEvents([status('t', 'pending', T0 + 1000)]);
      expect((await storage.getSnapshot('t'))?.state.status).toBe('pending');
      await storage.appendEvents([progress('t', 2)]);
      expect((await storage.getSnapshot('t'))?.state.status).toBe('running');
    });

    it('refuses each progress event of a batch that follows a completion in the same batch', async () => {
      const storage = await open();
      const stored = await appendProgress(storage, 't', 1);
      const results = await storage.appendEvents([
        status('t', 'completed', T0 + 2000),
        progress('t', 3),
        progress('t', 4),
      ]);
      expect(results.map((result) => (result.ok ? result.event.seq : result.code))).toEqual([
        stored.length + 1,
        'TASK_FINISHED',
        'TASK_FINISHED',
      ]);
    });
  });
}
