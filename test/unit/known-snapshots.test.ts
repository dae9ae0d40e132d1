import { describe, expect, it } from 'vitest';
import { KnownSnapshots } from '../../src/adapters/storage/sql/known-snapshots.js';
import type { TaskSnapshot } from '../../src/adapters/storage/types.js';

const snapshot = (taskId: string, seq: number): TaskSnapshot => ({
  taskId,
  seq,
  state: {
    task_id: taskId,
    progress: 0,
    current_step: '',
    total_steps: 0,
    completed_steps: 0,
    message: '',
    status: 'running',
    timestamp: '2024-01-01T00:00:00Z',
  },
  error: '',
  result: null,
  createdAtMs: 0,
  updatedAtMs: 0,
});

/** One batch: begin at `stamp`, write `snapshots`, end at `after`, commit. */
function batch(known: KnownSnapshots, stamp: string, after: string, snapshots: TaskSnapshot[]): void {
  known.begin(stamp);
  known.written(after);
  known.committed(snapshots);
}

describe('KnownSnapshots', () => {
  it('keeps snapshots while each batch begins at the stamp the last one ended at', () => {
    const known = new KnownSnapshots();
    batch(known, '1:0', '1:2', [snapshot('a', 1), snapshot('b', 1)]);
    batch(known, '1:2', '1:3', [snapshot('a', 2)]);
    known.begin('1:3');
    expect(known.lookup(['a', 'b', 'c'])).toEqual({
      snapshots: new Map([
        ['a', snapshot('a', 2)],
        ['b', snapshot('b', 1)],
      ]),
      unknown: ['c'],
    });
  });

  it('forgets everything when a batch begins at any other stamp', () => {
    const known = new KnownSnapshots();
    batch(known, '1:0', '1:1', [snapshot('a', 1)]);
    known.begin('2:1');
    expect(known.lookup(['a'])).toEqual({ snapshots: new Map(), unknown: ['a'] });
  });

  it('trusts nothing after a batch that did not commit', () => {
    const known = new KnownSnapshots();
    batch(known, '1:0', '1:1', [snapshot('a', 1)]);
    known.begin('1:1');
    known.written('1:2'); // rolled back: committed() never comes
    known.begin('1:2');
    expect(known.lookup(['a'])).toEqual({ snapshots: new Map(), unknown: ['a'] });
  });

  it('holds at most 10,000 tasks, dropping the least recently written', () => {
    const known = new KnownSnapshots();
    const many = Array.from({ length: 10_000 }, (_, n) => snapshot(`t${n}`, 1));
    batch(known, '1:0', '1:1', many);
    batch(known, '1:1', '1:2', [snapshot('t0', 2), snapshot('new', 1)]);
    known.begin('1:2');
    const { snapshots, unknown } = known.lookup(['t0', 'new', 't1', 't2']);
    expect([snapshots.get('t0')?.seq, snapshots.get('new')?.seq, snapshots.get('t2')?.seq, unknown]).toEqual([
      2,
      1,
      1,
      ['t1'],
    ]);
  });
});
