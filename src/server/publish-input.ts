/**
 * Validation of what a publisher hands us (`publish`, `setStatus`, `reportError`): bad input
 * throws `ProgressValidationError` before anything is stored.
 */
import * as z from 'zod';
import type { ProgressInput } from '../adapters/storage/types.js';
import { ProgressValidationError } from '../shared/errors.js';
import {
  isPlainTaskId,
  LIMITS,
  TaskIdSchema,
  type TaskStatus,
  TaskStatusSchema,
} from '../shared/protocol.js';

/** A progress update as `publish(taskId, update)` takes it. */
export interface ProgressUpdate {
  /** Percent done, an integer 0-100. */
  progress: number;
  /** Name of the step in progress, at most 200 characters. @default '' */
  currentStep?: string;
  /** @default 0 */
  totalSteps?: number;
  /** @default 0 */
  completedSteps?: number;
  /** Human-readable detail, at most 500 characters. @default '' */
  message?: string;
  /** Free-form JSON data stored and sent with the event. */
  metadata?: Record<string, unknown>;
}

/** Extra data of a status change. */
export interface StatusDetails {
  /** Error text, at most 2,000 characters. @default '' */
  error?: string;
  /** Any JSON value (the task's result). @default null */
  result?: unknown;
}

/** A step's failure as `reportError(taskId, report)` takes it. */
export interface ErrorReport {
  /** The step that failed, at most 100 characters. @default '' */
  stepId?: string;
  /** Error text, at most 2,000 characters. */
  error: string;
}

const count = z.number().int().min(0).max(1_000_000_000);

const ProgressUpdateSchema = z.object({
  progress: z.number().int().min(0).max(100),
  currentStep: z.string().max(LIMITS.currentStepChars).default(''),
  totalSteps: count.default(0),
  completedSteps: count.default(0),
  message: z.string().max(LIMITS.messageChars).default(''),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

const StatusDetailsSchema = z.object({
  error: z.string().max(LIMITS.errorChars).default(''),
  result: z.unknown().default(null),
});

const ErrorReportSchema = z.object({
  stepId: z.string().max(LIMITS.stepIdChars).default(''),
  error: z.string().min(1).max(LIMITS.errorChars),
});

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${issue.path.join('.') || '(value)'}: ${issue.message}`);
  throw new ProgressValidationError('VALIDATION_FAILED', `Invalid ${what}: ${issues.join('; ')}.`, issues);
}

export function parseTaskId(taskId: unknown): string {
  // The common case without zod: on every publish, where it is the only schema check left.
  if (isPlainTaskId(taskId)) return taskId;
  const result = TaskIdSchema.safeParse(taskId);
  if (result.success) return result.data;
  throw new ProgressValidationError(
    'INVALID_TASK_ID',
    `Invalid task id ${JSON.stringify(String(taskId).slice(0, 40))}: it must be a string of 1 to 100 characters.`,
  );
}

/** Validates a progress update: the common shape by hand, anything else through zod. */
export function parseProgressUpdate(update: unknown): ProgressInput {
  return plainProgressUpdate(update) ?? zodProgressUpdate(update);
}

/** The zod path, which accepts what the schema accepts and words every error. */
export function zodProgressUpdate(update: unknown): ProgressInput {
  const data = parse(ProgressUpdateSchema, update, 'progress update');
  const input: ProgressInput = {
    progress: data.progress,
    current_step: data.currentStep,
    total_steps: data.totalSteps,
    completed_steps: data.completedSteps,
    message: data.message,
  };
  if (data.metadata !== undefined) input.metadata = data.metadata;
  return input;
}

/**
 * The shape nearly every publish has (plain values within their limits, metadata a plain
 * object), checked without zod, whose parse cost more than the rest of the publish path.
 * `undefined` for anything else, which then goes through zod. A property test holds this to
 * zod's answers: whatever it accepts, zod accepts with the same result.
 */
export function plainProgressUpdate(update: unknown): ProgressInput | undefined {
  if (typeof update !== 'object' || update === null) return undefined;
  const {
    progress,
    currentStep = '',
    totalSteps = 0,
    completedSteps = 0,
    message = '',
    metadata,
  } = update as Partial<Record<keyof ProgressUpdate, unknown>>;
  if (
    typeof progress !== 'number' ||
    !Number.isInteger(progress) ||
    progress < 0 ||
    progress > 100 ||
    typeof currentStep !== 'string' ||
    currentStep.length > LIMITS.currentStepChars ||
    !isCount(totalSteps) ||
    !isCount(completedSteps) ||
    typeof message !== 'string' ||
    message.length > LIMITS.messageChars
  ) {
    return undefined;
  }
  const input: ProgressInput = {
    progress,
    current_step: currentStep,
    total_steps: totalSteps,
    completed_steps: completedSteps,
    message,
  };
  if (metadata === undefined) return input;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const prototype: unknown = Object.getPrototypeOf(metadata);
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  // A copy, as zod makes: later changes to the caller's object must not reach stored events.
  input.metadata = { ...metadata };
  return input;
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 1_000_000_000;

export function parseStatus(status: unknown): TaskStatus {
  return parse(TaskStatusSchema, status, 'status (pending, running, completed, failed or cancelled)');
}

export function parseStatusDetails(details: unknown): { error: string; result: unknown } {
  return parse(StatusDetailsSchema, details ?? {}, 'status details');
}

export function parseErrorReport(report: unknown): { step_id: string; error: string } {
  const data = parse(ErrorReportSchema, report, 'error report');
  return { step_id: data.stepId, error: data.error };
}
