/**
 * Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on
 * one machine: the send time embedded in an event is read in the server process and
 * compared at receipt in the load generator.
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
