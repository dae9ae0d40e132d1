/**
 * The publishing side of the scenarios, the same for every system: a closed loop that keeps
 * a fixed number of deliveries in flight (the load generator acknowledges what arrived), a
 * fixed rate, and single rounds. Tasks are served round-robin.
 */
import type { SystemServer } from '../systems/types.js';
import { benchUpdate, taskId } from '../systems/wire.js';
import { nowMs } from './clock.js';

/** Most events one timer turn publishes at a fixed rate, so a stalled loop cannot burst without bound. */
const MAX_EVENTS_PER_TICK = 100;

export interface Publisher {
  startClosedLoop(args: {
    tasks: number;
    subscribersPerTask: number;
    windowDeliveries: number;
    ackBase: number;
  }): null;
  startRate(args: { tasks: number; eventsPerSecond: number }): null;
  /** The load generator's running total of deliveries. */
  ack(delivered: number): void;
  stop(): { published: number; failed: number };
  publishRound(tasks: number): Promise<{ failed: number }>;
}

export function createPublisher(server: SystemServer): Publisher {
  let published = 0;
  let failed = 0;
  let next = 0;
  let pump: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The load generator's latest running total of deliveries. */
  let lastAck = 0;

  const onFailure = (error: unknown): void => {
    // The first failure says why; the rest are counted (`failedPublishes` in the results).
    if (failed++ === 0)
      console.error(
        `bench server: publish failed: ${error instanceof Error ? error.message : String(error)}`,
      );
  };

  const publishNext = (tasks: number): Promise<unknown> | undefined => {
    const n = next++;
    published++;
    const settled = server.publish(taskId(n % tasks), benchUpdate(n, nowMs()));
    // Not awaited: `publish` resolves when stored, and SQLite's group commit needs many in flight.
    settled?.catch(onFailure);
    return settled;
  };

  return {
    startClosedLoop({ tasks, subscribersPerTask, windowDeliveries, ackBase }) {
      // Acks still in flight from before the loop may carry older totals: count from the driver's reading.
      lastAck = Math.max(lastAck, ackBase);
      const base = ackBase;
      let sent = 0;
      pump = () => {
        // Bounded: at most windowDeliveries / subscribersPerTask events per call.
        while (sent - (lastAck - base) < windowDeliveries) {
          publishNext(tasks);
          sent += subscribersPerTask;
        }
      };
      pump();
      return null;
    },
    startRate({ tasks, eventsPerSecond }) {
      const startMs = nowMs();
      const intervalMs = 1_000 / eventsPerSecond;
      let due = 0;
      const tick = (): void => {
        const target = Math.floor((nowMs() - startMs) / intervalMs) + 1;
        // Stamped when it goes out, not when it was due: timers fire up to a millisecond late, and
        // that lateness (the bench's, the same for every system) would swamp sub-ms differences.
        // The price: a stall of the server's loop counts for the events it holds in delivery,
        // not for those it keeps from being published.
        for (let burst = 0; due < target && burst < MAX_EVENTS_PER_TICK; burst++, due++) publishNext(tasks);
        // Aim at the next event's due time rather than a fixed period, so that lateness does not accumulate.
        timer = setTimeout(tick, Math.max(0, startMs + due * intervalMs - nowMs()));
      };
      tick();
      return null;
    },
    ack(delivered) {
      lastAck = Math.max(lastAck, delivered);
      pump?.();
    },
    stop() {
      pump = undefined;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      return { published, failed };
    },
    async publishRound(tasks) {
      const before = failed;
      const settles: Promise<unknown>[] = [];
      for (let index = 0; index < tasks; index++) {
        const settled = server.publish(taskId(index), benchUpdate(next++, nowMs()));
        if (settled !== undefined) settles.push(settled.catch(onFailure));
      }
      await Promise.all(settles);
      return { failed: failed - before };
    },
  };
}
