/** Reconnect delays: exponential, capped, with jitter (the seed's 1 s, 2 s, 4 s, 8 s ... 30 s). */
import type { BackoffOptions } from './options.js';

/**
 * The delay before reconnect attempt `attempt` (1-based): `initialDelayMs * factor^(attempt-1)`
 * capped at `maxDelayMs`, then drawn from `[delay * (1 - jitter), delay]`.
 * @param random a number in `[0, 1)`; `Math.random()` by default.
 */
export function reconnectDelayMs(
  attempt: number,
  backoff: Required<BackoffOptions>,
  random = Math.random(),
): number {
  const { initialDelayMs, maxDelayMs, factor, jitter } = backoff;
  const capped = Math.min(maxDelayMs, initialDelayMs * factor ** Math.max(0, attempt - 1));
  return Math.round(capped * (1 - jitter * random));
}
