/**
 * Conformance cases for data fidelity: hostile task ids are stored and read back exactly and
 * never confused with each other; JSON values (metadata, results, text) round-trip exactly.
 */
import { accepted, type CaseContext, HOSTILE_TASK_IDS, progress, status, T0 } from './fixtures.js';

export function dataCases({ describe, it, expect, open }: CaseContext): void {
  describe('task ids', () => {
    it('stores hostile task ids and reads each back exactly', async () => {
      const storage = await open();
      await storage.appendEvents(HOSTILE_TASK_IDS.map((taskId, n) => progress(taskId, n + 1)));
      const snapshots = await Promise.all(HOSTILE_TASK_IDS.map((taskId) => storage.getSnapshot(taskId)));
      expect(
        snapshots.map((snapshot) => [snapshot?.taskId, snapshot?.state.task_id, snapshot?.state.message]),
      ).toEqual(HOSTILE_TASK_IDS.map((taskId, n) => [taskId, taskId, `event ${n + 1}`]));
    });

    it('keeps a separate history and seq per hostile id', async () => {
      const storage = await open();
      await storage.appendEvents(HOSTILE_TASK_IDS.map((taskId, n) => progress(taskId, n + 1)));
      const histories = await Promise.all(
        HOSTILE_TASK_IDS.map((taskId) => storage.getHistory(taskId, { limit: 10 })),
      );
      expect(histories.map((events) => events.map((event) => [event.taskId, event.seq]))).toEqual(
        HOSTILE_TASK_IDS.map((taskId) => [[taskId, 1]]),
      );
    });

    it('counts each hostile id as its own task', async () => {
      const storage = await open();
      await storage.appendEvents(HOSTILE_TASK_IDS.map((taskId, n) => progress(taskId, n + 1)));
      expect((await storage.getStats()).totalTasks).toBe(HOSTILE_TASK_IDS.length);
    });

    it("clears only the named task when its id looks like a pattern ('a%', 'a_')", async () => {
      const storage = await open();
      await storage.appendEvents(['a%', 'a_', 'ab', 'aB', 'a'].map((taskId, n) => progress(taskId, n + 1)));
      expect(await storage.clearHistory('a%')).toBe(1);
      expect(await storage.clearHistory('a_')).toBe(1);
      const left = await Promise.all(
        ['ab', 'aB', 'a'].map((taskId) => storage.getHistory(taskId, { limit: 10 })),
      );
      expect(left.map((events) => events.length)).toEqual([1, 1, 1]);
    });

    it('finds nothing under an id that only matches another id by pattern, case or padding', async () => {
      const storage = await open();
      await storage.appendEvents([progress('ab', 1)]);
      const lookalikes = ['a%', 'a_', 'AB', 'ab ', '%'];
      const snapshots = await Promise.all(lookalikes.map((taskId) => storage.getSnapshot(taskId)));
      expect(snapshots).toEqual(lookalikes.map(() => null));
    });

    it('uses hostile ids as session subscription keys', async () => {
      const storage = await open();
      const subscriptions = Object.fromEntries(HOSTILE_TASK_IDS.map((taskId, n) => [taskId, n]));
      const record = {
        clientId: "c'1%_\\",
        userId: 'ü',
        projectId: '项目',
        subscriptions,
        lastActiveAtMs: T0,
        expiresAtMs: T0 + 1,
      };
      await storage.saveSession(record);
      expect(await storage.getSession(record.clientId, T0)).toEqual(record);
    });
  });

  describe('JSON values', () => {
    const metadata = {
      text: 'quotes " \' and \\ backslash, newline\n, tab\t, unicode 你好 🚀',
      numbers: [0, -1, 1.5, -2.25e-7, 9_007_199_254_740_991, 1e21],
      flags: { yes: true, no: false, nothing: null },
      nested: { deeper: { deepest: ['a', { b: [] }, {}] } },
      empty: '',
    };

    it('round-trips progress metadata exactly through history and snapshot', async () => {
      const storage = await open();
      await storage.appendEvents([progress('t', 1, T0 + 1000, metadata)]);
      const [event] = await storage.getHistory('t', { limit: 1 });
      expect(event?.type === 'progress' ? event.payload.metadata : 'not a progress event').toEqual(metadata);
      expect((await storage.getSnapshot('t'))?.state.metadata).toEqual(metadata);
    });

    const results: [string, unknown][] = [
      ['object', metadata],
      ['array', [1, 'two', [3], { four: 4 }]],
      ['string', 'done: "ok" \\ 完成'],
      ['number', -12.5],
      ['boolean', false],
      ['null', null],
    ];
    for (const [kind, result] of results) {
      it(`round-trips a status result that is ${kind === 'array' || kind === 'object' ? 'an' : 'a'} ${kind}`, async () => {
        const storage = await open();
        const [appended] = await storage.appendEvents([status('t', 'completed', T0, { result })]);
        const [stored] = await storage.getHistory('t', { limit: 1 });
        expect(stored?.type === 'status' ? stored.payload.result : 'not a status event').toEqual(result);
        expect(stored).toEqual(accepted(appended));
        expect((await storage.getSnapshot('t'))?.result).toEqual(result);
      });
    }

    it('round-trips unicode and control characters in text fields', async () => {
      const storage = await open();
      const text = 'Ünïcödé 任务 🚀👩‍👩‍👧 "q" \'s\' \\ \n\r\t end';
      await storage.appendEvents([
        {
          taskId: 't',
          type: 'progress',
          timestampMs: T0 + 1000,
          data: { progress: 5, current_step: text, total_steps: 1, completed_steps: 0, message: text },
        },
        status('t', 'failed', T0 + 2000, { error: text }),
      ]);
      const snapshot = await storage.getSnapshot('t');
      expect([snapshot?.state.current_step, snapshot?.state.message, snapshot?.error]).toEqual([
        text,
        text,
        text,
      ]);
    });
  });
}
