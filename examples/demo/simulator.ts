/**
 * A task simulator shaped like the seed's example: a video pipeline that downloads, transcodes
 * N segments, renders thumbnails and uploads, reporting each step. Some tasks fail at a step.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { ProgressPublisher } from '../../src/server/index.js';

export interface VideoTaskSpec {
  readonly taskId: string;
  readonly title: string;
  /** Segments to transcode. */
  readonly segments: number;
  /** 1-based step at which the task fails, if it does. */
  readonly failAtStep: number | null;
  readonly createdAtMs: number;
}

type Publisher = Pick<ProgressPublisher, 'publish' | 'setStatus' | 'reportError'>;

/** The steps of a task, in order. */
export function stepsOf(spec: VideoTaskSpec): Array<{ id: string; name: string; message: string }> {
  const steps = [{ id: 'download', name: 'Download source', message: `Downloading ${spec.title}` }];
  for (let i = 1; i <= spec.segments; i++) {
    steps.push({
      id: `transcode-${i}`,
      name: `Transcode segment ${i}/${spec.segments}`,
      message: `Encoding segment ${i} to 1080p H.264`,
    });
  }
  steps.push({ id: 'thumbnails', name: 'Render thumbnails', message: 'Rendering 12 preview thumbnails' });
  steps.push({ id: 'upload', name: 'Upload', message: 'Uploading renditions to the CDN' });
  return steps;
}

/**
 * Runs a task from `fromStep` (0 for a new task; the completed steps for a task resumed after
 * a restart) to its end, or until `signal` aborts.
 */
export async function runVideoTask(
  publisher: Publisher,
  spec: VideoTaskSpec,
  options: { fromStep: number; stepMs: number; signal: AbortSignal },
): Promise<void> {
  const steps = stepsOf(spec);
  const totalSteps = steps.length;
  if (options.fromStep === 0) {
    await publisher.setStatus(spec.taskId, 'running');
    await publisher.publish(spec.taskId, {
      progress: 0,
      currentStep: 'Queued',
      totalSteps,
      completedSteps: 0,
      message: 'Waiting for a worker',
      metadata: { title: spec.title },
    });
  }
  for (let index = options.fromStep; index < totalSteps; index++) {
    const step = steps[index]!;
    await delay(options.stepMs * (0.6 + Math.random() * 0.8), undefined, { signal: options.signal });
    if (spec.failAtStep === index + 1) {
      const error = `${step.name} failed: encoder exited with code 137 (out of memory)`;
      await publisher.reportError(spec.taskId, { stepId: step.id, error });
      await publisher.setStatus(spec.taskId, 'failed', { error });
      return;
    }
    await publisher.publish(spec.taskId, {
      progress: Math.round(((index + 1) * 100) / totalSteps),
      currentStep: step.name,
      totalSteps,
      completedSteps: index + 1,
      message: step.message,
    });
  }
  await publisher.setStatus(spec.taskId, 'completed', {
    result: { url: `https://cdn.example.com/videos/${spec.taskId}/master.m3u8` },
  });
}
