/**
 * Conformance cases for task reads: snapshots, history queries, `clearHistory` and stats.
 */
import {
  accepted,
  appendProgress,
  type CaseContext,
  iso,
  progress,
  range,
  status,
  T0,
  taskError,
} from './fixtures.js';

export function taskCases({ describe, it, expect, open }: CaseContext): void {
  describe('getSnapshot', () => {
    it('returns null for an unknown task', async () => {
      const storage = await open();
      expect(await storage.getSnapshot('nobody')).toEqual(null);
    });

    it('holds the latest progress fields, status and seq', async () => {
      const storage = await open();
      await storage.appendEvents([progress('t', 1), progress('t', 2, T0 + 2000, { eta: 30 })]);
      expect(await storage.getSnapshot('t')).toEqual({
        taskId: 't',
        seq: 2,
        state: {
          task_id: 't',
          progress: 20,
          current_step: 'step 2',
          total_steps: 10,
          completed_steps: 2,
          message: 'event 2',
          metadata: { eta: 30 },
          status: 'running',
          timestamp: iso(T0 + 2000),
        },
        error: '',
        result: null,
        createdAtMs: T0 + 1000,
        updatedAtMs: T0 + 2000,
      });
    });

    it('holds the error and result of the latest status event, keeping the progress fields', async () => {
      const storage = await open();
      await storage.appendEvents([
        progress('t', 4),
        status('t', 'failed', T0 + 5000, { error: 'out of memory', result: { partial: [1, 2] } }),
      ]);
      expect(await storage.getSnapshot('t')).toEqual({
        taskId: 't',
        seq: 2,
        state: {
          task_id: 't',
          progress: 40,
          current_step: 'step 4',
          total_steps: 10,
          completed_steps: 4,
          message: 'event 4',
          status: 'failed',
          timestamp: iso(T0 + 5000),
        },
        error: 'out of memory',
        result: { partial: [1, 2] },
        createdAtMs: T0 + 4000,
        updatedAtMs: T0 + 5000,
      });
    });

    it('starts a task from a status event with zeroed progress fields', async () => {
      const storage = await open();
      await storage.appendEvents([status('t', 'pending', T0)]);
      expect((await storage.getSnapshot('t'))?.state).toEqual({
        task_id: 't',
        progress: 0,
        current_step: '',
        total_steps: 0,
        completed_steps: 0,
        message: '',
        status: 'pending',
        timestamp: iso(T0),
      });
    });

    it('advances seq on an error event and keeps the state', async () => {
      const storage = await open();
      await storage.appendEvents([progress('t', 1)]);
      const before = await storage.getSnapshot('t');
      await storage.appendEvents([taskError('t', T0 + 9000, 'step-1', 'retrying')]);
      const after = await storage.getSnapshot('t');
      expect({ seq: after?.seq, state: after?.state }).toEqual({ seq: 2, state: before?.state });
    });
  });

  describe('getHistory', () => {
    it('returns the events exactly as appendEvents returned them', async () => {
      const storage = await open();
      const results = await storage.appendEvents([
        progress('t', 1, T0 + 1000, { nested: { list: [1, 'two', null] } }),
        taskError('t', T0 + 2000, 'load', 'timeout'),
        status('t', 'completed', T0 + 3000, { result: ['done'] }),
      ]);
      expect(await storage.getHistory('t', { limit: 10 })).toEqual(results.map(accepted));
    });

    it('returns the last `limit` events in ascending order without afterSeq', async () => {
      const storage = await open();
      await appendProgress(storage, 't', 5);
      expect((await storage.getHistory('t', { limit: 2 })).map((event) => event.seq)).toEqual([4, 5]);
    });

    it('returns every event when `limit` exceeds the count', async () => {
      const storage = await open();
      await appendProgress(storage, 't', 5);
      expect((await storage.getHistory('t', { limit: 50 })).map((event) => event.seq)).toEqual([
        1, 2, 3, 4, 5,
      ]);
    });

    it('returns the first `limit` events after afterSeq', async () => {
      const storage = await open();
      await appendProgress(storage, 't', 5);
      expect((await storage.getHistory('t', { limit: 2, afterSeq: 1 })).map((event) => event.seq)).toEqual([
        2, 3,
      ]);
    });

    it('returns the rest after afterSeq when `limit` is larger', async () => {
      const storage = await open();
      await appendProgress(storage, 't', 5);
      expect((await storage.getHistory('t', { limit: 10, afterSeq: 3 })).map((event) => event.seq)).toEqual([
        4, 5,
      ]);
    });

    it('returns every event after afterSeq 0', async () => {
      const storage = await open();
      await appendProgress(storage, 't', 3);
      expect((await storage.getHistory('t', { limit: 10, afterSeq: 0 })).map((event) => event.seq)).toEqual([
        1, 2, 3,
      ]);
    });

    it('returns nothing after the last seq', async () => {
      const storage = await open();
      await appendProgress(storage, 't', 5);
      expect(await storage.getHistory('t', { limit: 10, afterSeq: 5 })).toEqual([]);
    });

    it('returns nothing for limit 0', async () => {
      const storage = await open();
      await appendProgress(storage, 't', 3);
      expect({
        last: await storage.getHistory('t', { limit: 0 }),
        after: await storage.getHistory('t', { limit: 0, afterSeq: 1 }),
      }).toEqual({ last: [], after: [] });
    });

    it('returns nothing for an unknown task', async () => {
      const storage = await open();
      expect(await storage.getHistory('nobody', { limit: 10 })).toEqual([]);
    });
  });

  describe('clearHistory', () => {
    it("deletes a task's events and returns how many", async () => {
      const storage = await open();
      await appendProgress(storage, 't', 3);
      expect(await storage.clearHistory('t')).toBe(3);
      expect(await storage.getHistory('t', { limit: 10 })).toEqual([]);
    });

    it('keeps the snapshot, seq included', async () => {
      const storage = await open();
      await appendProgress(storage, 't', 3);
      const before = await storage.getSnapshot('t');
      await storage.clearHistory('t');
      expect(await storage.getSnapshot('t')).toEqual(before);
    });

    it('keeps the seq counter: the next event continues after the cleared ones', async () => {
      const storage = await open();
      await appendProgress(storage, 't', 3);
      await storage.clearHistory('t');
      const [next] = await storage.appendEvents([progress('t', 4)]);
      expect(accepted(next).seq).toBe(4);
      expect((await storage.getHistory('t', { limit: 10 })).map((event) => event.seq)).toEqual([4]);
    });

    it("leaves other tasks' history alone", async () => {
      const storage = await open();
      await appendProgress(storage, 'a', 2);
      await appendProgress(storage, 'b', 2);
      await storage.clearHistory('a');
      expect((await storage.getHistory('b', { limit: 10 })).map((event) => event.seq)).toEqual([1, 2]);
    });

    it('returns 0 for an unknown task', async () => {
      const storage = await open();
      expect(await storage.clearHistory('nobody')).toBe(0);
    });
  });

  describe('getStats', () => {
    it('returns zeros for an empty store', async () => {
      const storage = await open();
      expect(await storage.getStats()).toEqual({
        totalTasks: 0,
        activeTasks: 0,
        completedTasks: 0,
        failedTasks: 0,
      });
    });

    it('counts pending and running as active and cancelled only in the total', async () => {
      const storage = await open();
      await storage.appendEvents([
        status('pending', 'pending', T0),
        progress('running', 1),
        status('completed', 'completed', T0),
        status('failed', 'failed', T0),
        status('cancelled', 'cancelled', T0),
      ]);
      expect(await storage.getStats()).toEqual({
        totalTasks: 5,
        activeTasks: 2,
        completedTasks: 1,
        failedTasks: 1,
      });
    });

    it('moves a task between counts when its status changes', async () => {
      const storage = await open();
      await storage.appendEvents(range(1, 3).map((n) => progress(`t${n}`, 1)));
      await storage.appendEvents([status('t1', 'completed', T0 + 5000), status('t2', 'failed', T0 + 5000)]);
      expect(await storage.getStats()).toEqual({
        totalTasks: 3,
        activeTasks: 1,
        completedTasks: 1,
        failedTasks: 1,
      });
    });

    it('still counts a task whose history was cleared', async () => {
      const storage = await open();
      await appendProgress(storage, 't', 2);
      await storage.clearHistory('t');
      expect(await storage.getStats()).toEqual({
        totalTasks: 1,
        activeTasks: 1,
        completedTasks: 0,
        failedTasks: 0,
      });
    });
  });
}
