/**
 * Conformance cases for `cleanup()` and retention. These open adapters with their own
 * retention (see `ConformanceAdapterOptions`).
 */
import type { SessionRecord } from '../adapters/storage/types.js';
import { accepted, appendProgress, type CaseContext, progress, T0 } from './fixtures.js';

const session = (clientId: string, expiresAtMs: number): SessionRecord => ({
  clientId,
  userId: 'u',
  projectId: 'p',
  subscriptions: {},
  lastActiveAtMs: T0,
  expiresAtMs,
});

export function retentionCases({ describe, it, expect, open }: CaseContext): void {
  describe('cleanup', () => {
    it('deletes events older than ttlMs and reports how many', async () => {
      const storage = await open({ maxEventsPerTask: 100, ttlMs: 1500 });
      // Events at T0+1000, T0+2000, T0+3000; the cutoff T0+1600 expires the first.
      await appendProgress(storage, 't', 3);
      expect(await storage.cleanup(T0 + 3100)).toEqual({ eventsDeleted: 1, sessionsDeleted: 0 });
      expect((await storage.getHistory('t', { limit: 10 })).map((event) => event.seq)).toEqual([2, 3]);
    });

    it('keeps an event exactly ttlMs old', async () => {
      const storage = await open({ maxEventsPerTask: 100, ttlMs: 1000 });
      await appendProgress(storage, 't', 2);
      expect((await storage.cleanup(T0 + 2000)).eventsDeleted).toBe(0);
    });

    it('deletes expired events across tasks', async () => {
      const storage = await open({ maxEventsPerTask: 100, ttlMs: 1000 });
      await appendProgress(storage, 'a', 2);
      await appendProgress(storage, 'b', 3);
      // Cutoff T0+2500: a loses 1 and 2, b loses 1 and 2.
      expect((await storage.cleanup(T0 + 3500)).eventsDeleted).toBe(4);
      expect((await storage.getHistory('a', { limit: 10 })).map((event) => event.seq)).toEqual([]);
      expect((await storage.getHistory('b', { limit: 10 })).map((event) => event.seq)).toEqual([3]);
    });

    it('keeps the snapshot and seq counter of a task whose events expired', async () => {
      const storage = await open({ maxEventsPerTask: 100, ttlMs: 1000 });
      await appendProgress(storage, 't', 3);
      const before = await storage.getSnapshot('t');
      await storage.cleanup(T0 + 100_000);
      expect(await storage.getSnapshot('t')).toEqual(before);
      const [next] = await storage.appendEvents([progress('t', 4, T0 + 100_000)]);
      expect(accepted(next).seq).toBe(4);
    });

    it('keeps events forever when ttlMs is 0', async () => {
      const storage = await open({ maxEventsPerTask: 100, ttlMs: 0 });
      await appendProgress(storage, 't', 3);
      expect((await storage.cleanup(T0 + 10 * 365 * 86_400_000)).eventsDeleted).toBe(0);
      expect((await storage.getHistory('t', { limit: 10 })).map((event) => event.seq)).toEqual([1, 2, 3]);
    });

    it('deletes expired sessions, keeps live ones and reports how many', async () => {
      const storage = await open();
      await storage.saveSession(session('old-1', T0 + 1000));
      await storage.saveSession(session('old-2', T0 + 2000));
      await storage.saveSession(session('live', T0 + 3000));
      expect((await storage.cleanup(T0 + 2000)).sessionsDeleted).toBe(2);
      expect((await storage.getSession('live', T0 + 2000))?.clientId).toBe('live');
      // Deleted for good: not even an earlier clock sees them again.
      expect(await storage.getSession('old-1', T0)).toEqual(null);
    });
  });

  describe('retention', () => {
    it('keeps only the newest maxEventsPerTask events of a task after cleanup', async () => {
      const storage = await open({ maxEventsPerTask: 3, ttlMs: 0 });
      await appendProgress(storage, 't', 5);
      await storage.cleanup(T0 + 6000);
      expect((await storage.getHistory('t', { limit: 10 })).map((event) => event.seq)).toEqual([3, 4, 5]);
      expect((await storage.getHistory('t', { limit: 10, afterSeq: 0 })).map((event) => event.seq)).toEqual([
        3, 4, 5,
      ]);
    });

    it('trims each task on its own', async () => {
      const storage = await open({ maxEventsPerTask: 3, ttlMs: 0 });
      await appendProgress(storage, 'long', 6);
      await appendProgress(storage, 'short', 2);
      await storage.cleanup(T0 + 7000);
      expect((await storage.getHistory('long', { limit: 10 })).map((event) => event.seq)).toEqual([4, 5, 6]);
      expect((await storage.getHistory('short', { limit: 10 })).map((event) => event.seq)).toEqual([1, 2]);
    });

    it('keeps the seq counter when trimming', async () => {
      const storage = await open({ maxEventsPerTask: 2, ttlMs: 0 });
      await appendProgress(storage, 't', 5);
      await storage.cleanup(T0 + 6000);
      const [next] = await storage.appendEvents([progress('t', 6)]);
      expect(accepted(next).seq).toBe(6);
      expect((await storage.getSnapshot('t'))?.seq).toBe(6);
    });
  });
}
