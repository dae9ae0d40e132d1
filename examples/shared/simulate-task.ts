/** The task the framework examples start from their own `POST /tasks` route. */
import { setTimeout as delay } from 'node:timers/promises';
import type { ProgressServer } from '../../src/server/index.js';

/** Five steps of half a second each, then `completed`; stops when `signal` aborts. */
export async function simulateTask(
  progress: ProgressServer,
  taskId: string,
  signal: AbortSignal,
): Promise<void> {
  const totalSteps = 5;
  for (let done = 1; done <= totalSteps; done++) {
    await delay(500, undefined, { signal });
    await progress.publish(taskId, {
      progress: (done * 100) / totalSteps,
      currentStep: `step ${done}`,
      totalSteps,
      completedSteps: done,
      message: `Finished step ${done} of ${totalSteps}`,
    });
  }
  await progress.setStatus(taskId, 'completed');
}
