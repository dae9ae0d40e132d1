/**
 * Conformance cases for resumable sessions and connection audit records.
 */
import type { ConnectionRecord, SessionRecord } from '../adapters/storage/types.js';
import { type CaseContext, T0 } from './fixtures.js';

const session = (clientId: string, overrides: Partial<SessionRecord> = {}): SessionRecord => ({
  clientId,
  userId: 'user-1',
  projectId: 'project-1',
  subscriptions: { 'task-a': 3, 'task-b': 0 },
  lastActiveAtMs: T0,
  expiresAtMs: T0 + 120_000,
  ...overrides,
});

const connection = (clientId: string, overrides: Partial<ConnectionRecord> = {}): ConnectionRecord => ({
  clientId,
  userId: 'user-1',
  projectId: 'project-1',
  connectedAtMs: T0,
  disconnectedAtMs: null,
  lastActiveAtMs: T0 + 500,
  messageCount: 0,
  ipAddress: '203.0.113.7',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) "quoted" agent',
  ...overrides,
});

export function sessionCases({ describe, it, expect, open }: CaseContext): void {
  describe('sessions', () => {
    it('returns a saved session', async () => {
      const storage = await open();
      await storage.saveSession(session('c1'));
      expect(await storage.getSession('c1', T0)).toEqual(session('c1'));
    });

    it('replaces a session saved again under the same client id', async () => {
      const storage = await open();
      await storage.saveSession(session('c1'));
      const replacement = session('c1', {
        subscriptions: { 'task-c': 9 },
        lastActiveAtMs: T0 + 1000,
        expiresAtMs: T0 + 200_000,
      });
      await storage.saveSession(replacement);
      expect(await storage.getSession('c1', T0 + 1000)).toEqual(replacement);
    });

    it('keeps sessions of different clients apart', async () => {
      const storage = await open();
      await storage.saveSession(session('c1'));
      await storage.saveSession(session('c2', { userId: 'user-2' }));
      expect((await storage.getSession('c1', T0))?.userId).toBe('user-1');
      expect((await storage.getSession('c2', T0))?.userId).toBe('user-2');
    });

    it('returns null after deleteSession', async () => {
      const storage = await open();
      await storage.saveSession(session('c1'));
      await storage.deleteSession('c1');
      expect(await storage.getSession('c1', T0)).toEqual(null);
    });

    it('ignores deleting an unknown session', async () => {
      const storage = await open();
      await storage.deleteSession('nobody');
      expect(await storage.getSession('nobody', T0)).toEqual(null);
    });

    it('returns a session until nowMs reaches expiresAtMs, then null', async () => {
      const storage = await open();
      await storage.saveSession(session('c1', { expiresAtMs: T0 + 60_000 }));
      expect((await storage.getSession('c1', T0 + 59_999))?.clientId).toBe('c1');
      expect(await storage.getSession('c1', T0 + 60_000)).toEqual(null);
    });

    it('returns null for an unknown client id', async () => {
      const storage = await open();
      expect(await storage.getSession('nobody', T0)).toEqual(null);
    });

    it('stores an empty subscription map', async () => {
      const storage = await open();
      await storage.saveSession(session('c1', { subscriptions: {} }));
      expect((await storage.getSession('c1', T0))?.subscriptions).toEqual({});
    });
  });

  describe('connections', () => {
    it('returns a recorded connection', async () => {
      const storage = await open();
      await storage.recordConnection(connection('c1'));
      expect(await storage.getConnection('c1')).toEqual(connection('c1'));
    });

    it('updates the record written again under the same client id', async () => {
      const storage = await open();
      await storage.recordConnection(connection('c1'));
      const updated = connection('c1', {
        disconnectedAtMs: T0 + 9000,
        lastActiveAtMs: T0 + 8000,
        messageCount: 42,
      });
      await storage.recordConnection(updated);
      expect(await storage.getConnection('c1')).toEqual(updated);
    });

    it('keeps records of different clients apart', async () => {
      const storage = await open();
      await storage.recordConnection(connection('c1'));
      await storage.recordConnection(connection('c2', { messageCount: 7 }));
      expect((await storage.getConnection('c1'))?.messageCount).toBe(0);
      expect((await storage.getConnection('c2'))?.messageCount).toBe(7);
    });

    it('returns null for an unknown client id', async () => {
      const storage = await open();
      expect(await storage.getConnection('nobody')).toEqual(null);
    });
  });
}
