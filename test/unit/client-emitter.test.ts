/** The client's own typed event emitter (it replaced eventemitter3 to fit the size budget). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Emitter } from '../../src/client/emitter.js';

interface TestEvents {
  tick: (event: { n: number }) => void;
  done: (event: { ok: boolean }) => void;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

/** Runs microtasks through a wrapper that records what they throw instead of crashing the run. */
function catchMicrotaskThrows(): unknown[] {
  const raised: unknown[] = [];
  const original = globalThis.queueMicrotask;
  vi.stubGlobal('queueMicrotask', (task: () => void) =>
    original(() => {
      try {
        task();
      } catch (error) {
        raised.push(error);
      }
    }),
  );
  return raised;
}

describe('Emitter', () => {
  it('calls listeners in the order they were added, with the payload, and says whether any listened', () => {
    const emitter = new Emitter<TestEvents>();
    const calls: string[] = [];
    expect(emitter.emit('tick', { n: 0 })).toBe(false);
    emitter.on('tick', ({ n }) => calls.push(`a${n}`)).addListener('tick', ({ n }) => calls.push(`b${n}`));
    expect(emitter.emit('tick', { n: 1 })).toBe(true);
    expect(emitter.emit('done', { ok: true })).toBe(false);
    expect(calls).toEqual(['a1', 'b1']);
  });

  it('calls a once() listener on the next event only, and off() removes it by the listener given', () => {
    const emitter = new Emitter<TestEvents>();
    const seen: number[] = [];
    const listener = ({ n }: { n: number }) => seen.push(n);
    emitter.once('tick', listener);
    emitter.emit('tick', { n: 1 });
    emitter.emit('tick', { n: 2 });
    expect(seen).toEqual([1]);
    emitter.once('tick', listener);
    expect(emitter.listeners('tick')).toEqual([listener]);
    emitter.off('tick', listener);
    emitter.emit('tick', { n: 3 });
    expect(seen).toEqual([1]);
    expect(emitter.listenerCount('tick')).toBe(0);
  });

  it('removes one listener, every listener of an event, or every listener', () => {
    const emitter = new Emitter<TestEvents>();
    const a = () => {};
    const b = () => {};
    emitter.on('tick', a).on('tick', b).on('done', a);
    emitter.removeListener('tick', a);
    expect(emitter.listeners('tick')).toEqual([b]);
    expect(emitter.eventNames()).toEqual(['tick', 'done']);
    emitter.off('tick');
    expect(emitter.eventNames()).toEqual(['done']);
    emitter.on('tick', a).removeAllListeners('done');
    expect(emitter.eventNames()).toEqual(['tick']);
    emitter.removeAllListeners();
    expect([emitter.listenerCount('tick'), emitter.listenerCount('done')]).toEqual([0, 0]);
  });

  it('applies listeners added or removed during an emit from the next emit on', () => {
    const emitter = new Emitter<TestEvents>();
    const calls: string[] = [];
    const late = () => calls.push('late');
    const second = () => calls.push('second');
    emitter.on('tick', () => {
      calls.push('first');
      emitter.on('tick', late);
      emitter.off('tick', second);
    });
    emitter.on('tick', second);
    emitter.emit('tick', { n: 1 });
    emitter.emit('tick', { n: 2 });
    expect(calls).toEqual(['first', 'second', 'first', 'late']);
  });

  it('still calls the other listeners when one throws, and re-raises the throw on its own', async () => {
    const emitter = new Emitter<TestEvents>();
    const raised = catchMicrotaskThrows();
    const thrown = new Error('listener bug');
    const seen: number[] = [];
    emitter.on('tick', () => {
      throw thrown;
    });
    emitter.on('tick', ({ n }) => seen.push(n));
    expect(emitter.emit('tick', { n: 1 })).toBe(true);
    expect(seen).toEqual([1]);
    expect(raised).toEqual([]);
    await Promise.resolve();
    expect(raised).toEqual([thrown]);
  });
});
