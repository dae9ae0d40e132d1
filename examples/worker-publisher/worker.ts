/**
 * The worker process: a BullMQ worker on the `renders` queue whose jobs report progress, and
 * the bridge that turns that into realtime-progress events, published through the shared
 * storage and the Redis bus. No WebSocket server here.
 *
 * Run: npx tsx examples/worker-publisher/worker.ts   (with server.ts running; see README.md)
 */
import { setTimeout as delay } from 'node:timers/promises';
import { type Job, Worker } from 'bullmq';
// In your app: import { createProgressPublisher } from 'realtime-progress/server';
import { createProgressPublisher } from '../../src/server/index.js';
import { bridgeWorker } from './bridge.js';
import { infrastructure, QUEUE, REDIS_URL } from './infrastructure.js';

/** A pretend render: ten steps, progress after each. */
async function render(job: Job<{ frames: number; failAt?: number }>): Promise<{ frames: number }> {
  const { frames, failAt } = job.data;
  for (let step = 1; step <= 10; step++) {
    await delay(200);
    if (failAt === step) throw new Error(`frame batch ${step} failed to encode`);
    await job.updateProgress({
      progress: step * 10,
      currentStep: `batch ${step}/10`,
      totalSteps: 10,
      completedSteps: step,
    });
  }
  return { frames };
}

const shared = infrastructure({ subscribe: false });
const publisher = createProgressPublisher({ storage: shared.storage, bus: shared.bus });
// BullMQ blocks on its connection, so it gets its own (with the retry setting it requires).
const worker = new Worker(QUEUE, render, { connection: { url: REDIS_URL, maxRetriesPerRequest: null } });
const bridge = bridgeWorker(worker, publisher);
console.log(`worker listening on queue "${QUEUE}"`);

const shutdown = async (): Promise<void> => {
  await worker.close();
  bridge.detach();
  await bridge.idle();
  await publisher.close();
  await shared.close();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
