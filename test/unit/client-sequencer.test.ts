import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Sequencer } from '../../src/client/sequencer.js';
import type { ProgressMessage, StatusMessage, TaskEventMessage } from '../../src/shared/protocol.js';

const progress = (seq: number, extra: Partial<ProgressMessage> = {}): ProgressMessage => ({
  type: 'progress',
  task_id: 't',
  seq,
  payload: {
    task_id: 't',
    progress: seq,
    current_step: '',
    total_steps: 0,
    completed_steps: 0,
    message: '',
    status: 'running',
    timestamp: '',
  },
  ...extra,
});
const status = (seq: number): StatusMessage => ({
  type: 'status',
  task_id: 't',
  seq,
  payload: { task_id: 't', status: 'completed', error: '', result: null, timestamp: '' },
});
const seqs = (events: readonly TaskEventMessage[]): number[] => events.map((event) => event.seq);

describe('Sequencer', () => {
  it('passes events in order and drops duplicates', () => {
    const sequencer = new Sequencer();
    const out = [1, 2, 2, 1, 3].flatMap((seq) => seqs(sequencer.push(progress(seq)).ready));
    expect(out).toEqual([1, 2, 3]);
    expect(sequencer.last).toBe(3);
  });

  it('holds events after a gap, asks once for a replay since the last seen seq, and releases them in order', () => {
    const sequencer = new Sequencer();
    expect(seqs(sequencer.push(progress(1)).ready)).toEqual([1]);
    const gap = sequencer.push(progress(4));
    expect(gap).toEqual({ ready: [], askSince: 1 });
    expect(sequencer.push(progress(3)).askSince).toBeUndefined();
    expect(sequencer.push(status(5)).askSince).toBeUndefined();
    // The replay brings 2..5 again; only what is new comes out.
    const replayed = [2, 3, 4].flatMap((seq) => seqs(sequencer.push(progress(seq)).ready));
    expect(replayed).toEqual([2, 3, 4, 5]);
    expect(seqs(sequencer.push(status(5)).ready)).toEqual([]);
    expect(sequencer.repairing).toBe(false);
  });

  it('asks again for a new gap once the previous one closed', () => {
    const sequencer = new Sequencer();
    sequencer.push(progress(1));
    expect(sequencer.push(progress(3)).askSince).toBe(1);
    sequencer.push(progress(2));
    expect(sequencer.push(progress(6)).askSince).toBe(3);
  });

  it('treats a coalesced progress as contiguous when it starts at or before the next seq', () => {
    const sequencer = new Sequencer(2);
    expect(seqs(sequencer.push(progress(7, { coalesced_from: 3 })).ready)).toEqual([7]);
    expect(sequencer.push(progress(12, { coalesced_from: 9 })).askSince).toBe(7);
  });

  it('takes a snapshot as the new baseline and releases the held events after it', () => {
    const sequencer = new Sequencer();
    sequencer.push(progress(1));
    sequencer.push(progress(9));
    sequencer.push(progress(11));
    expect(seqs(sequencer.rebase(8))).toEqual([9]);
    expect(sequencer.last).toBe(9);
    expect(sequencer.repairing).toBe(true);
  });

  it('keeps at most maxHeld events, dropping the newest (the replay brings them again)', () => {
    const sequencer = new Sequencer(0, 3);
    for (const seq of [5, 4, 3, 2]) sequencer.push(progress(seq));
    expect(seqs(sequencer.push(progress(1)).ready)).toEqual([1, 2, 3, 4]);
    expect(sequencer.last).toBe(4);
  });

  it('next() takes only the very next event with nothing held, and then acts exactly as push() would', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 3 })), {
          maxLength: 80,
        }),
        fc.boolean(),
        (arrivals, repairing) => {
          const pushOnly = new Sequencer();
          const fastFirst = new Sequencer();
          pushOnly.repairing = fastFirst.repairing = repairing;
          for (const [seq, folded] of arrivals) {
            // Some arrivals are coalesced progress events folding `folded` earlier seqs.
            const event = progress(seq, folded > 0 ? { coalesced_from: Math.max(1, seq - folded) } : {});
            const expected = pushOnly.push(event);
            const taken = fastFirst.next(event);
            const actual = taken ? { ready: [event], askSince: undefined } : fastFirst.push(event);
            expect(seqs(actual.ready)).toEqual(seqs(expected.ready));
            expect(actual.askSince).toBe(expected.askSince);
            expect([fastFirst.last, fastFirst.repairing]).toEqual([pushOnly.last, pushOnly.repairing]);
          }
        },
      ),
      { seed: 20_240_602, numRuns: 300 },
    );
  });

  it('emits exactly 1..N in order for any interleaving of duplicates, reorderings and replays', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 120 }),
        (n, noise) => {
          const sequencer = new Sequencer();
          const out: number[] = [];
          // Noise: arbitrary arrivals (lost ones, duplicates, out of order) ...
          for (const seq of noise) if (seq <= n) out.push(...seqs(sequencer.push(progress(seq)).ready));
          // ... then what a replay since `last` delivers: everything after it, in order.
          for (let seq = sequencer.last + 1; seq <= n; seq++)
            out.push(...seqs(sequencer.push(progress(seq)).ready));
          expect(out).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        },
      ),
      { seed: 20_240_601, numRuns: 300 },
    );
  });
});
