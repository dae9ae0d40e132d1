/**
 * The typed event emitter `ProgressClient` extends: the methods of Node's and eventemitter3's
 * API that apps use, in a few hundred bytes rather than eventemitter3's 1.1 KB gzip (the
 * client's whole budget is 6 KB). Listeners run in the order they were added. A listener
 * that throws does not keep the event from the others: its error is re-raised on its own, in
 * a microtask, as an uncaught error.
 */

/**
 * A stored listener; its parameter is checked per event by the methods' signatures. A `once()`
 * wrapper knows the `listener` it wraps, so that `off()` finds it by that listener.
 */
type Listener = ((event: never) => void) & { listener?: Listener };

export class Emitter<Events extends { [K in keyof Events]: (event: never) => void }> {
  /**
   * Each event's listeners. A list is replaced on every change, never changed in place, so
   * `emit()` walks it without a copy, and a listener added or removed during an emit takes
   * effect from the next one.
   */
  readonly #listeners = new Map<keyof Events, readonly Listener[]>();

  /** Calls `listener` on every `event`. */
  on<K extends keyof Events>(event: K, listener: Events[K]): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener]);
    return this;
  }

  /** Calls `listener` on the next `event` only. */
  once<K extends keyof Events>(event: K, listener: Events[K]): this {
    const wrapped: Listener = (payload) => {
      this.off(event, wrapped as Events[K]);
      listener(payload);
    };
    wrapped.listener = listener;
    return this.on(event, wrapped as Events[K]);
  }

  /** Removes `listener` from `event` (every listener of `event` when none is given). */
  off<K extends keyof Events>(event: K, listener?: Events[K]): this {
    const left = (this.#listeners.get(event) ?? []).filter(
      (l) => listener !== undefined && l !== listener && l.listener !== listener,
    );
    if (left.length > 0) this.#listeners.set(event, left);
    else this.#listeners.delete(event);
    return this;
  }

  addListener<K extends keyof Events>(event: K, listener: Events[K]): this {
    return this.on(event, listener);
  }

  removeListener<K extends keyof Events>(event: K, listener?: Events[K]): this {
    return this.off(event, listener);
  }

  /** Removes every listener of `event`, or of every event. */
  removeAllListeners(event?: keyof Events): this {
    if (event === undefined) this.#listeners.clear();
    else this.#listeners.delete(event);
    return this;
  }

  /** Calls each listener of `event` with `payload`; `false` when there is none. */
  emit<K extends keyof Events>(event: K, payload: Parameters<Events[K]>[0]): boolean {
    const listeners = this.#listeners.get(event);
    if (listeners === undefined) return false;
    for (const listener of listeners) {
      try {
        (listener as (event: typeof payload) => void)(payload);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    return true;
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** The listeners of `event` (for a `once()` listener, the function given to it). */
  listeners<K extends keyof Events>(event: K): Events[K][] {
    return (this.#listeners.get(event) ?? []).map((l) => (l.listener ?? l) as Events[K]);
  }

  /** The events that have listeners. */
  eventNames(): (keyof Events)[] {
    return [...this.#listeners.keys()];
  }
}
