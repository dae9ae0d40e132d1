import { describe, expect, it } from 'vitest';
import { applyTaskEvent } from '../../src/server/index.js';

const progress = (taskId: string, value: number) =>
  ({
    taskId,
    type: 'progress',
    timestampMs: 1_000,
    data: { progress: value, current_step: 's', total_steps: 2, completed_steps: 1, message: '' },
  }) as const;

describe('applyTaskEvent', () => {
  it('starts a new task at seq 1 in status running', () => {
    const result = applyTaskEvent(null, progress('t', 5));
    expect(result.ok && result.event.seq).toBe(1);
    expect(result.ok && result.snapshot.state.status).toBe('running');
  });

  it('keeps progress fields when the status changes', () => {
    const first = applyTaskEvent(null, progress('t', 70));
    if (!first.ok) throw new Error('refused');
    const done = applyTaskEvent(first.snapshot, {
      taskId: 't',
      type: 'status',
      timestampMs: 2_000,
      data: { status: 'completed', error: '', result: { url: 'x' } },
    });
    expect(done.ok && done.snapshot).toMatchObject({
      seq: 2,
      state: { progress: 70, status: 'completed' },
      result: { url: 'x' },
      updatedAtMs: 2_000,
      createdAtMs: 1_000,
    });
  });

  it('refuses progress on a finished task without consuming a seq', () => {
    const first = applyTaskEvent(null, {
      taskId: 't',
      type: 'status',
      timestampMs: 0,
      data: { status: 'cancelled', error: '', result: null },
    });
    if (!first.ok) throw new Error('refused');
    expect(applyTaskEvent(first.snapshot, progress('t', 1))).toEqual({
      ok: false,
      code: 'TASK_FINISHED',
      message: expect.stringContaining('cancelled'),
    });
  });

  it('leaves the state unchanged on an error event but advances the seq', () => {
    const first = applyTaskEvent(null, progress('t', 30));
    if (!first.ok) throw new Error('refused');
    const error = applyTaskEvent(first.snapshot, {
      taskId: 't',
      type: 'error',
      timestampMs: 5,
      data: { step_id: 'x', error: 'e' },
    });
    expect(error.ok && error.snapshot.seq).toBe(2);
    expect(error.ok && error.snapshot.state).toEqual(first.snapshot.state);
  });
});
