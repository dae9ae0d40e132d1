/**
 * A server restarted on the same database (SQLite file, PostgreSQL) answers as if it had never
 * stopped: the client resumes its session (same id, subscriptions, missed events in order) and
 * `history/db` and `stats` still hold everything.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSqlStorage } from '../../src/adapters/storage/sql/index.js';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { connectRaw, type RawClient, seqsOf } from '../helpers/raw-client.js';
import { pgAvailable, requireService } from '../helpers/services.js';
import {
  type AnyKysely,
  dropTables,
  pgDb,
  sqliteDb,
  tempDir,
  uniquePrefix,
} from '../helpers/sql-databases.js';

const runPg = requireService('PostgreSQL', await pgAvailable());

interface Database {
  /** A new Kysely on the same database, as a restarted process would open it. */
  open(): AnyKysely;
  cleanup(): Promise<void>;
}

const sqliteFile = (): Database => {
  const dir = tempDir();
  return { open: () => sqliteDb(`${dir.path}/progress.sqlite`), cleanup: async () => dir.remove() };
};
const postgres = (prefix: string): Database => ({
  open: () => pgDb().db,
  cleanup: async () => {
    const { db } = pgDb();
    await dropTables(db, prefix);
    await db.destroy();
  },
});

const cases: Array<[string, boolean, (prefix: string) => Database]> = [
  ['a SQLite file', true, () => sqliteFile()],
  ['PostgreSQL', runPg, postgres],
];

describe.each(cases)('a server restarted on %s', (_name, enabled, makeDatabase) => {
  const open: Array<{ server: TestServer; db: AnyKysely }> = [];
  const clients: RawClient[] = [];
  let database: Database | undefined;
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const { server, db } of open.splice(0)) {
      await server.close();
      await db.destroy();
    }
    await database?.cleanup();
  });

  const start = async (prefix: string, port = 0) => {
    const db = database!.open();
    const server = await startServer(
      { heartbeat: { intervalMs: 0 } },
      createSqlStorage({ db, tablePrefix: prefix }),
      port,
    );
    open.push({ server, db });
    return server;
  };

  it.runIf(enabled)('lets the client resume with the same id and keeps history and stats', async () => {
    const prefix = uniquePrefix('restart');
    database = makeDatabase(prefix);
    const first = await start(prefix);
    const client = await connectRaw(first.wsUrl('user_id=alice'));
    clients.push(client);
    const clientId = (await client.waitFor((m) => m.type === 'connected')).payload.client_id as string;
    client.send({ action: 'subscribe', task_id: 'render-1' });
    await client.waitFor((m) => m.type === 'subscribed');
    for (let i = 1; i <= 3; i++) await first.server.publish('render-1', { progress: i * 10 });
    await client.waitFor((m) => m.seq === 3);

    // Graceful restart: sessions are saved, then a new process opens the same database.
    const port = first.port;
    await first.close();
    expect((await client.closed).code).toBe(1001);
    const entry = open.pop()!;
    await entry.db.destroy();
    const second = await start(prefix, port);
    await second.server.publish('render-1', { progress: 40 });
    await second.server.setStatus('render-1', 'completed');

    const resumed = await connectRaw(second.wsUrl(`user_id=alice&old_client_id=${clientId}`));
    clients.push(resumed);
    const greeting = await resumed.waitFor((m) => m.type === 'reconnected');
    expect(greeting.payload).toMatchObject({
      client_id: clientId,
      resumed: true,
      subscribed: { 'render-1': true },
    });
    await resumed.waitFor((m) => m.type === 'status');
    expect(seqsOf(resumed, 'render-1')).toEqual([4, 5]);

    const history = await (await fetch(`${second.httpUrl}/api/v1/progress/render-1/history/db`)).json();
    expect(history.history.map((entry: { seq: number }) => entry.seq)).toEqual([1, 2, 3, 4, 5]);
    const stats = await (await fetch(`${second.httpUrl}/api/v1/progress/stats`)).json();
    expect(stats).toEqual({ total_tasks: 1, active_tasks: 0, completed_tasks: 1, failed_tasks: 0 });
  });
});
