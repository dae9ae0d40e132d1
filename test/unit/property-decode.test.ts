/**
 * Property tests of the server's frame decoder: random and mutated frames never make it throw,
 * every answer is well-formed, and a message's verdict is exactly what `docs/protocol.md`
 * says (checked against an independent model of the documented rules).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DecodedClientMessage, decodeClientFrame, decodeClientValue } from '../../src/shared/decode.js';
import {
  frameText,
  hostileJsonText,
  lineText,
  mutatedObjectText,
  validMessageText,
} from '../helpers/fuzz-frames.js';

const SEED = 20_260_221;
const CLIENT_INPUT_CODES = ['BAD_JSON', 'BAD_MESSAGE', 'UNKNOWN_ACTION', 'INVALID_TASK_ID'];

/** The verdict `docs/protocol.md` gives a parsed JSON value, written independently of the decoder. */
type Verdict =
  | { readonly ok: true; readonly message: Record<string, unknown> }
  | { readonly ok: false; readonly code: string; readonly taskId: string };

function documentedVerdict(value: unknown): Verdict {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'BAD_MESSAGE', taskId: '' };
  }
  const record = value as Record<string, unknown>;
  const has = (key: string): boolean => Object.hasOwn(record, key);
  // The error names the task the message mentioned, clipped to the longest valid id.
  const taskId = typeof record.task_id === 'string' ? record.task_id.slice(0, 100) : '';
  const fail = (code: string): Verdict => ({ ok: false, code, taskId });
  if (has('action')) {
    if (record.action !== 'subscribe' && record.action !== 'unsubscribe') return fail('UNKNOWN_ACTION');
    const id = record.task_id;
    // "1 to 100 characters": characters are code points, as the SQL columns count them.
    if (typeof id !== 'string' || [...id].length < 1 || [...id].length > 100) return fail('INVALID_TASK_ID');
    if (record.action === 'unsubscribe') return { ok: true, message: { action: 'unsubscribe', task_id: id } };
    if (!has('since')) return { ok: true, message: { action: 'subscribe', task_id: id } };
    const since = record.since;
    // "since is not an integer >= 0" -> BAD_MESSAGE (a seq is a safe integer).
    if (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0) return fail('BAD_MESSAGE');
    return { ok: true, message: { action: 'subscribe', task_id: id, since: since + 0 } };
  }
  if (has('type'))
    return record.type === 'ping' ? { ok: true, message: { type: 'ping' } } : fail('UNKNOWN_ACTION');
  return fail('BAD_MESSAGE');
}

/** The decoder's answer without its human-readable text, which the model does not predict. */
function verdictOf(decoded: DecodedClientMessage): Verdict {
  if (decoded.ok) {
    const message: Record<string, unknown> = { ...decoded.message };
    if (typeof message.since === 'number') message.since = message.since + 0;
    return { ok: true, message };
  }
  return { ok: false, code: decoded.code, taskId: decoded.taskId };
}

/** Structural checks every decoded entry must pass, whatever the input. */
function expectWellFormed(decoded: DecodedClientMessage): void {
  if (decoded.ok) {
    expect(
      Object.keys(decoded.message).every((key) => ['action', 'task_id', 'since', 'type'].includes(key)),
    ).toBe(true);
    return;
  }
  expect(CLIENT_INPUT_CODES).toContain(decoded.code);
  expect(typeof decoded.error).toBe('string');
  expect(decoded.error.length).toBeGreaterThan(0);
  // Client-supplied text is clipped before it is echoed: an error never amplifies its input.
  expect(decoded.error.length).toBeLessThanOrEqual(400);
  expect(typeof decoded.taskId).toBe('string');
  expect(decoded.taskId.length).toBeLessThanOrEqual(100);
}

const nonBlankLines = (frame: string): string[] => frame.split('\n').filter((line) => line.trim() !== '');

/** JSON values around the real message shapes, and arbitrary ones. */
const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: mutatedObjectText.map((text): unknown => JSON.parse(text)), weight: 6 },
  { arbitrary: validMessageText.map((text): unknown => JSON.parse(text)), weight: 2 },
  { arbitrary: hostileJsonText.map((text): unknown => JSON.parse(text)), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 4 }), weight: 1 },
);

describe('decodeClientFrame on hostile frames', () => {
  it('never throws and answers every entry with a valid message or a documented code', () => {
    fc.assert(
      fc.property(fc.oneof(frameText, fc.string({ unit: 'binary', maxLength: 300 })), (frame) => {
        const decoded = decodeClientFrame(frame);
        for (const entry of decoded) expectWellFormed(entry);
      }),
      { seed: SEED, numRuns: 3_000 },
    );
  });

  it('answers a frame without a newline, or one JSON document, with exactly one entry', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          lineText,
          validMessageText.map((text) => JSON.stringify(JSON.parse(text), null, 2)),
        ),
        (frame) => {
          fc.pre(!frame.includes('\n') || isJson(frame));
          expect(decodeClientFrame(frame)).toHaveLength(1);
        },
      ),
      { seed: SEED, numRuns: 2_000 },
    );
  });

  it('decodes a newline-batched frame exactly as its lines one by one', () => {
    // Frames with no non-blank line at all are covered by the socket test in fuzz-frames.test.ts.
    fc.assert(
      fc.property(
        fc.array(lineText, { minLength: 2, maxLength: 8 }),
        fc.constantFrom('\n', '\r\n', '\n \n'),
        (lines, separator) => {
          const frame = lines.join(separator);
          fc.pre(!isJson(frame));
          const single = nonBlankLines(frame).flatMap((line) => decodeClientFrame(line));
          expect(decodeClientFrame(frame).map(verdictOf)).toEqual(single.map(verdictOf));
        },
      ),
      { seed: SEED, numRuns: 2_000 },
    );
  });

  it('answers a line that is not JSON with BAD_JSON and an empty task id', () => {
    fc.assert(
      fc.property(lineText, (line) => {
        fc.pre(!line.includes('\n') && !isJson(line));
        expect(decodeClientFrame(line).map(verdictOf)).toEqual([{ ok: false, code: 'BAD_JSON', taskId: '' }]);
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });
});

describe('decodeClientValue against the documented rules', () => {
  it('gives every JSON value the verdict docs/protocol.md describes', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        expect(verdictOf(decodeClientValue(value))).toEqual(documentedVerdict(value));
        // The same value on the wire decodes the same way.
        expect(decodeClientFrame(JSON.stringify(value)).map(verdictOf)).toEqual([documentedVerdict(value)]);
      }),
      { seed: SEED, numRuns: 5_000 },
    );
  });

  it('keeps only the documented fields of an accepted message', () => {
    fc.assert(
      fc.property(mutatedObjectText, (text) => {
        const decoded = decodeClientValue(JSON.parse(text));
        if (!decoded.ok) return;
        const keys = Object.keys(decoded.message).sort();
        expect([['action', 'task_id'], ['action', 'since', 'task_id'], ['type']]).toContainEqual(keys);
      }),
      { seed: SEED, numRuns: 3_000 },
    );
  });

  it('neither mutates its input nor pollutes Object.prototype', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const before = JSON.stringify(value);
        decodeClientValue(value);
        expect(JSON.stringify(value)).toBe(before);
        expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
        expect(({} as Record<string, unknown>).action).toBeUndefined();
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });

  it('is deterministic: the same frame always decodes the same way', () => {
    fc.assert(
      fc.property(frameText, (frame) => {
        expect(decodeClientFrame(frame)).toEqual(decodeClientFrame(frame));
      }),
      { seed: SEED, numRuns: 1_000 },
    );
  });
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
