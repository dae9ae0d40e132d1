/**
 * examples/worker-publisher: a BullMQ worker publishing through `createProgressPublisher` on
 * its own storage handle and a publish-only Redis bus; a server with its own handle and bus
 * delivers the job's progress and final status to a WebSocket client.
 */
import { Queue, Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { bridgeWorker, toProgressUpdate } from '../../examples/worker-publisher/bridge.js';
import { createRedisBus } from '../../src/adapters/bus/redis-index.js';
import { createSqlStorage, migrateSqlStorage } from '../../src/adapters/storage/sql/index.js';
import { createProgressPublisher } from '../../src/server/index.js';
import { connect, disconnectAll, ready, uniqueKeyPrefix } from '../helpers/cluster/redis.js';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { connectRaw, type RawClient, seqsOf } from '../helpers/raw-client.js';
import { pgAvailable, redisAvailable, requireService, SERVICES } from '../helpers/services.js';
import { type AnyKysely, dropTables, pgDb, uniquePrefix } from '../helpers/sql-databases.js';

const run =
  requireService('Redis', await redisAvailable()) && requireService('PostgreSQL', await pgAvailable());

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  disconnectAll();
});

describe('toProgressUpdate', () => {
  it('maps a number to a percentage and an object field by field', () => {
    expect(toProgressUpdate(41.6)).toEqual({ progress: 42 });
    expect(toProgressUpdate(180)).toEqual({ progress: 100 });
    expect(
      toProgressUpdate({
        progress: 30,
        currentStep: 'encode',
        totalSteps: 3,
        completedSteps: 1,
        message: 'm',
        metadata: { a: 1 },
      }),
    ).toEqual({
      progress: 30,
      currentStep: 'encode',
      totalSteps: 3,
      completedSteps: 1,
      message: 'm',
      metadata: { a: 1 },
    });
    expect(toProgressUpdate('half')).toEqual({ progress: 0, message: 'half' });
  });
});

describe.runIf(run)('examples/worker-publisher', () => {
  it('turns updateProgress, completion and final failure into progress and status events', async () => {
    const tablePrefix = uniquePrefix('worker');
    const keyPrefix = uniqueKeyPrefix('worker');
    const admin = pgDb({ max: 1 }).db;
    await migrateSqlStorage({ db: admin, tablePrefix });
    cleanups.push(async () => {
      await dropTables(admin, tablePrefix);
      await admin.destroy();
    });
    const db = (): AnyKysely => {
      const { db: handle } = pgDb({ max: 2 });
      cleanups.push(() => handle.destroy());
      return handle;
    };

    // The server process's half: its own storage handle and a subscribing bus.
    const serverPublisher = connect();
    const serverSubscriber = connect();
    await Promise.all([ready(serverPublisher), ready(serverSubscriber)]);
    const server: TestServer = await startServer(
      {
        bus: createRedisBus({ publisher: serverPublisher, subscriber: serverSubscriber, keyPrefix }),
        heartbeat: { intervalMs: 0 },
      },
      createSqlStorage({ db: db(), tablePrefix, migrate: false }),
    );
    cleanups.push(() => server.close());

    // The worker process's half: another storage handle and a publish-only bus.
    const workerRedis = connect();
    await ready(workerRedis);
    const publisher = createProgressPublisher({
      storage: createSqlStorage({ db: db(), tablePrefix, migrate: false }),
      bus: createRedisBus({ publisher: workerRedis, keyPrefix }),
    });
    const bullPrefix = `${keyPrefix}bull`;
    const connection = { host: SERVICES.redis.host, port: SERVICES.redis.port, maxRetriesPerRequest: null };
    const queue = new Queue('renders', { connection, prefix: bullPrefix });
    cleanups.push(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
    });
    const worker = new Worker(
      'renders',
      async (job) => {
        for (const step of [1, 2, 3]) {
          if (job.data.failAt === step) throw new Error(`step ${step} failed`);
          await job.updateProgress(step === 2 ? { progress: 66, currentStep: 'encode' } : step * 33);
        }
        return { url: `/out/${job.id}.mp4` };
      },
      // Started once the client follows the jobs, so that it sees every event from the first.
      { connection, prefix: bullPrefix, autorun: false },
    );
    const bridge = bridgeWorker(worker, publisher);
    cleanups.push(async () => {
      await worker.close();
      await bridge.idle();
      await publisher.close();
    });

    const client: RawClient = await connectRaw(server.wsUrl('user_id=u'));
    cleanups.push(() => client.close());
    const ok = await queue.add('render', {});
    const bad = await queue.add('render', { failAt: 2 }, { attempts: 2 });
    const okTask = `renders-${ok.id}`;
    const badTask = `renders-${bad.id}`;
    for (const task of [okTask, badTask]) client.send({ action: 'subscribe', task_id: task });
    await client.waitForCount((m) => m.type === 'subscribed', 2);
    void worker.run();

    const finished = (task: string, status: string) =>
      client.waitFor((m) => m.type === 'status' && m.task_id === task && m.payload.status === status, 15_000);
    const [okStatus, badStatus] = await Promise.all([
      finished(okTask, 'completed'),
      finished(badTask, 'failed'),
    ]);
    expect(okStatus.payload.result).toEqual({ url: `/out/${ok.id}.mp4` });
    expect(badStatus.payload.error).toBe('step 2 failed');

    const events = (task: string) =>
      client.messages.filter((m) => m.task_id === task && typeof m.seq === 'number' && !m.snapshot);
    expect(
      events(okTask).map((m) => [m.type, m.payload.status, m.payload.progress, m.payload.current_step]),
    ).toEqual([
      ['status', 'running', undefined, undefined],
      ['progress', 'running', 33, ''],
      ['progress', 'running', 66, 'encode'],
      ['progress', 'running', 99, ''],
      ['status', 'completed', undefined, undefined],
    ]);
    // First attempt: an error event, the task stays open; the retry reopens it; the last attempt fails it.
    expect(
      events(badTask).map((m) =>
        m.type === 'error' ? `error:${m.payload.error}` : `${m.type}:${m.payload.status}`,
      ),
    ).toEqual([
      'status:running',
      'progress:running',
      'error:step 2 failed',
      'status:running',
      'progress:running',
      'status:failed',
    ]);
    expect(seqsOf(client, okTask)).toEqual([1, 2, 3, 4, 5]);
  }, 40_000);
});
