/**
 * Event builders and helpers shared by the conformance cases. Times are fixed so that every
 * expectation is exact.
 */
import type {
  AppendResult,
  NewTaskEvent,
  RetentionOptions,
  StorageAdapter,
  StoredTaskEvent,
} from '../adapters/storage/types.js';
import type { TaskStatus } from '../shared/protocol.js';
import type { ExpectLike, TestBody } from './runner.js';

/** 2024-01-01T00:00:00.000Z: the suite's clock starts here. */
export const T0 = 1_704_067_200_000;

export const iso = (ms: number): string => new Date(ms).toISOString();

/** What each case file receives. */
export interface CaseContext {
  readonly it: (name: string, body: TestBody) => unknown;
  readonly describe: (name: string, body: () => void) => unknown;
  readonly expect: ExpectLike;
  /** A fresh adapter for this case (closed afterwards); retention defaults to `DEFAULT_RETENTION`. */
  readonly open: (retention?: RetentionOptions) => Promise<StorageAdapter>;
}

/** A progress event whose fields derive from `n`, so each one is recognisable. */
export function progress(
  taskId: string,
  n: number,
  atMs = T0 + n * 1000,
  metadata?: Record<string, unknown>,
): NewTaskEvent {
  const data = {
    progress: Math.min(100, n * 10),
    current_step: `step ${n}`,
    total_steps: 10,
    completed_steps: Math.min(10, n),
    message: `event ${n}`,
  };
  return {
    taskId,
    type: 'progress',
    timestampMs: atMs,
    data: metadata === undefined ? data : { ...data, metadata },
  };
}

export function status(
  taskId: string,
  value: TaskStatus,
  atMs: number,
  extra: { error?: string; result?: unknown } = {},
): NewTaskEvent {
  return {
    taskId,
    type: 'status',
    timestampMs: atMs,
    data: { status: value, error: extra.error ?? '', result: extra.result ?? null },
  };
}

export function taskError(taskId: string, atMs: number, stepId: string, error: string): NewTaskEvent {
  return { taskId, type: 'error', timestampMs: atMs, data: { step_id: stepId, error } };
}

/** The stored event of an accepted result; throws on a refused one so the case fails clearly. */
export function accepted(result: AppendResult | undefined): StoredTaskEvent {
  if (result === undefined) throw new Error('appendEvents returned fewer results than events');
  if (!result.ok) throw new Error(`expected the event to be accepted, got ${result.code}: ${result.message}`);
  return result.event;
}

export const seqsOf = (results: readonly AppendResult[]): number[] =>
  results.map((result) => accepted(result).seq);

export const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, index) => from + index);

/** Appends `count` progress events (n = 1..count) to a task, one call, and returns them stored. */
export async function appendProgress(
  storage: StorageAdapter,
  taskId: string,
  count: number,
): Promise<StoredTaskEvent[]> {
  const results = await storage.appendEvents(range(1, count).map((n) => progress(taskId, n)));
  return results.map(accepted);
}

/** Ids that break naive SQL (quotes, LIKE wildcards, escapes) or naive collations. */
export const HOSTILE_TASK_IDS: readonly string[] = [
  "it's",
  'say "hi"',
  "x'); DROP TABLE tasks; --",
  'a%',
  'ab',
  'a_',
  'aB',
  'a',
  'A',
  'a ',
  ' a',
  '%',
  '_',
  'back\\slash',
  'back\\\\slash',
  'line\nbreak\ttab',
  '任务-进度',
  'café',
  'cafe\u0301',
  'rocket 🚀 launch',
  '👩‍👩‍👧',
  '\u0024{template}', // "${template}" without tripping the template-in-string lint
  'null',
  '0',
  `${'x'.repeat(98)}🎯`,
  'y'.repeat(100),
];
