/**
 * The publish path validates the common progress update and task id by hand and sends
 * everything else through zod. The hand-written check must never accept what zod refuses, nor produce a
 * different result; and it must actually take the common shapes (or it saves nothing).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseProgressUpdate,
  parseTaskId,
  plainProgressUpdate,
  zodProgressUpdate,
} from '../../src/server/publish-input.js';
import { ProgressValidationError } from '../../src/shared/errors.js';
import { TaskIdSchema } from '../../src/shared/protocol.js';

const SEED = 20_261_128;

/** Values near and past every limit, of every type the fields could be given. */
const fieldValue = fc.oneof(
  fc.integer({ min: -5, max: 105 }),
  fc.constantFrom(0, 100, 1_000_000_000, 1_000_000_001, -0, 0.5, Number.NaN, Number.POSITIVE_INFINITY),
  fc.double(),
  fc.string({ maxLength: 10 }),
  fc.constantFrom('x'.repeat(200), 'x'.repeat(201), 'x'.repeat(500), 'x'.repeat(501)),
  fc.constantFrom(null, undefined, true, [], {}, new Date(0), new Map()),
  fc.object({ maxDepth: 1 }),
);

const update = fc.record(
  {
    progress: fieldValue,
    currentStep: fieldValue,
    totalSteps: fieldValue,
    completedSteps: fieldValue,
    message: fieldValue,
    metadata: fieldValue,
    extra: fieldValue,
  },
  { requiredKeys: [] },
);

const validUpdate = fc.record(
  {
    progress: fc.integer({ min: 0, max: 100 }),
    currentStep: fc.string({ maxLength: 200 }),
    totalSteps: fc.integer({ min: 0, max: 1_000_000_000 }),
    completedSteps: fc.integer({ min: 0, max: 1_000_000_000 }),
    message: fc.string({ maxLength: 500 }),
    metadata: fc.dictionary(fc.string(), fc.jsonValue()),
  },
  { requiredKeys: ['progress'] },
);

describe('progress update validation', () => {
  it('accepts by hand only what zod accepts, with the same result', () => {
    fc.assert(
      fc.property(fc.oneof(update, fc.anything()), (input) => {
        const plain = plainProgressUpdate(input);
        if (plain === undefined) return;
        expect(plain).toEqual(zodProgressUpdate(input));
      }),
      { seed: SEED, numRuns: 5_000 },
    );
  });

  it('takes every valid plain update without zod', () => {
    fc.assert(
      fc.property(validUpdate, (input) => {
        expect(plainProgressUpdate(input)).toEqual(zodProgressUpdate(input));
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });

  it('refuses what zod refuses, with zod’s wording', () => {
    fc.assert(
      fc.property(update, (input) => {
        let zodError: unknown;
        try {
          zodProgressUpdate(input);
        } catch (error) {
          zodError = error;
        }
        if (zodError === undefined) return;
        expect(zodError).toBeInstanceOf(ProgressValidationError);
        expect(() => parseProgressUpdate(input)).toThrow((zodError as Error).message);
      }),
      { seed: SEED, numRuns: 3_000 },
    );
  });

  it('copies metadata, so later changes to the caller’s object are not stored', () => {
    const metadata = { step: 'a' };
    const parsed = parseProgressUpdate({ progress: 1, metadata });
    metadata.step = 'b';
    expect(parsed.metadata).toEqual({ step: 'a' });
  });

  it('takes a task id exactly when TaskIdSchema does, and refuses the rest with INVALID_TASK_ID', () => {
    const taskId = fc.oneof(
      fc.string({ maxLength: 120 }),
      fc.constantFrom('', 'x'.repeat(100), 'x'.repeat(101), '\u{1F600}'.repeat(50), '\u{1F600}'.repeat(51)),
      fc.constantFrom(null, undefined, 42, {}, ['t']),
    );
    fc.assert(
      fc.property(taskId, (input) => {
        if (TaskIdSchema.safeParse(input).success) expect(parseTaskId(input)).toBe(input);
        else expect(() => parseTaskId(input)).toThrow(expect.objectContaining({ code: 'INVALID_TASK_ID' }));
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });
});
