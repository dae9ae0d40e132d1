import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rfc3339 } from '../../src/shared/messages.js';

/** The whole range `Date` accepts: +-100,000,000 days around 1970. */
const MAX_TIME = 8.64e15;

describe('rfc3339', () => {
  it('is exactly toISOString() for any time, in any order of calls', () => {
    // Times near each other and far apart, so the per-millisecond and per-second caches hit and miss.
    const base = fc.integer({ min: -MAX_TIME, max: MAX_TIME - 10_000 });
    const times = base.chain((start) =>
      fc
        .array(fc.oneof(fc.integer({ min: 0, max: 2_500 }), fc.integer({ min: 0, max: 10_000 })), {
          minLength: 1,
          maxLength: 20,
        })
        .map((offsets) => offsets.map((offset) => start + offset)),
    );
    fc.assert(
      fc.property(times, (ms) => {
        for (const time of ms) expect(rfc3339(time)).toBe(new Date(time).toISOString());
      }),
    );
  });

  it.each([
    0,
    -0,
    -1,
    999,
    1_000,
    -1_000,
    -1_001,
    253_402_300_799_999,
    253_402_300_800_000,
    MAX_TIME,
    -MAX_TIME,
  ])('formats %d like toISOString()', (time) => {
    expect(rfc3339(time)).toBe(new Date(time).toISOString());
  });

  it('keeps Date rounding for fractional times and its RangeError outside its range', () => {
    expect(rfc3339(1_500.7)).toBe(new Date(1_500.7).toISOString());
    expect(rfc3339(-1_500.7)).toBe(new Date(-1_500.7).toISOString());
    expect(() => rfc3339(MAX_TIME + 1)).toThrow(RangeError);
    expect(() => rfc3339(Number.NaN)).toThrow(RangeError);
  });
});
