/** The in-process bus: the default for a single server process. */
import type { Bus, BusMessage } from './types.js';

/** Creates a bus that delivers within this process only. */
export function createLocalBus(): Bus {
  const subscribed = new Set<string>();
  let listener: ((message: BusMessage) => void) | undefined;
  return {
    async publish(message) {
      if (subscribed.has(message.taskId)) listener?.(message);
    },
    async subscribe(taskId) {
      subscribed.add(taskId);
    },
    async unsubscribe(taskId) {
      subscribed.delete(taskId);
    },
    onMessage(next) {
      listener = next;
    },
    onResync() {
      // A local bus never loses messages.
    },
    async close() {
      subscribed.clear();
    },
  };
}
