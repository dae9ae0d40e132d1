import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_OPTIONS, reconnectDelayMs } from '../../src/client/index.js';

const exact = { ...DEFAULT_CLIENT_OPTIONS.backoff, jitter: 0 };

describe('reconnectDelayMs', () => {
  it('doubles from 1 s and caps at 30 s with jitter off', () => {
    const delays = Array.from({ length: 8 }, (_, i) => reconnectDelayMs(i + 1, exact));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('draws each delay from [delay * (1 - jitter), delay]', () => {
    const backoff = { ...exact, jitter: 0.5 };
    expect(reconnectDelayMs(3, backoff, 0)).toBe(4_000);
    expect(reconnectDelayMs(3, backoff, 0.999_999)).toBe(2_000);
    expect(reconnectDelayMs(3, backoff, 0.5)).toBe(3_000);
  });

  it('never exceeds the cap, whatever the jitter draws', () => {
    const backoff = { ...exact, jitter: 1 };
    for (let attempt = 1; attempt <= 50; attempt++) {
      expect(reconnectDelayMs(attempt, backoff, 0)).toBeLessThanOrEqual(30_000);
    }
  });

  it('uses the configured initial delay and factor', () => {
    const backoff = { initialDelayMs: 20, maxDelayMs: 100, factor: 3, jitter: 0 };
    expect([1, 2, 3, 4].map((attempt) => reconnectDelayMs(attempt, backoff))).toEqual([20, 60, 100, 100]);
  });
});
