import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createMemoryStorage,
  createProgressPublisher,
  type ProgressPublisher,
} from '../../src/server/index.js';
import { isProgressError } from '../../src/shared/errors.js';

const open: ProgressPublisher[] = [];
const make = (throttleMs = 0) => {
  const storage = createMemoryStorage();
  const publisher = createProgressPublisher({ storage, throttle: { progressIntervalMs: throttleMs } });
  open.push(publisher);
  return { storage, publisher };
};
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(open.splice(0).map((p) => p.close()));
});

const codeOf = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return isProgressError(error) ? error.code : `non-sdk error: ${String(error)}`;
  }
};

describe('publisher input validation', () => {
  const bad: Array<[string, () => Promise<unknown>, string]> = [
    ['an empty task id', () => make().publisher.publish('', { progress: 1 }), 'INVALID_TASK_ID'],
    [
      'a 101-character task id',
      () => make().publisher.publish('x'.repeat(101), { progress: 1 }),
      'INVALID_TASK_ID',
    ],
    [
      'a non-string task id',
      () => make().publisher.publish(42 as unknown as string, { progress: 1 }),
      'INVALID_TASK_ID',
    ],
    ['progress above 100', () => make().publisher.publish('t', { progress: 101 }), 'VALIDATION_FAILED'],
    ['negative progress', () => make().publisher.publish('t', { progress: -1 }), 'VALIDATION_FAILED'],
    ['fractional progress', () => make().publisher.publish('t', { progress: 1.5 }), 'VALIDATION_FAILED'],
    ['missing progress', () => make().publisher.publish('t', {} as never), 'VALIDATION_FAILED'],
    [
      'a 201-character current step',
      () => make().publisher.publish('t', { progress: 1, currentStep: 's'.repeat(201) }),
      'VALIDATION_FAILED',
    ],
    [
      'a 501-character message',
      () => make().publisher.publish('t', { progress: 1, message: 'm'.repeat(501) }),
      'VALIDATION_FAILED',
    ],
    [
      'negative total steps',
      () => make().publisher.publish('t', { progress: 1, totalSteps: -2 }),
      'VALIDATION_FAILED',
    ],
    ['an unknown status', () => make().publisher.setStatus('t', 'done' as never), 'VALIDATION_FAILED'],
    [
      'an error report without text',
      () => make().publisher.reportError('t', { error: '' }),
      'VALIDATION_FAILED',
    ],
  ];
  it.each(bad)('refuses %s with a coded validation error', async (_name, call, code) => {
    expect(await codeOf(call())).toBe(code);
  });

  it('names the offending field in the message', async () => {
    const error = await make()
      .publisher.publish('t', { progress: 150 })
      .catch((e: Error) => e);
    expect((error as Error).message).toMatch(/progress/);
    expect((error as Error).name).toBe('ProgressValidationError');
  });

  it('stores nothing for refused input', async () => {
    const { storage, publisher } = make();
    await codeOf(publisher.publish('t', { progress: 500 }));
    expect(await storage.getSnapshot('t')).toBeNull();
  });
});

describe('task lifecycle', () => {
  it('refuses progress for a completed task with TASK_FINISHED', async () => {
    const { publisher } = make();
    await publisher.publish('t', { progress: 50 });
    await publisher.setStatus('t', 'completed');
    expect(await codeOf(publisher.publish('t', { progress: 60 }))).toBe('TASK_FINISHED');
  });

  it.each(['failed', 'cancelled'] as const)('refuses progress for a %s task', async (status) => {
    const { publisher } = make();
    await publisher.setStatus('t', status, { error: 'x' });
    expect(await codeOf(publisher.publish('t', { progress: 1 }))).toBe('TASK_FINISHED');
  });

  it('takes progress again once the task is reopened, continuing the seq', async () => {
    const { publisher } = make();
    await publisher.publish('t', { progress: 100 });
    await publisher.setStatus('t', 'failed', { error: 'disk full' });
    await publisher.setStatus('t', 'running');
    expect(await publisher.publish('t', { progress: 10 })).toEqual({ taskId: 't', seq: 4, coalesced: false });
  });

  it('does not complete a task when progress reaches 100', async () => {
    const { storage, publisher } = make();
    await publisher.publish('t', { progress: 100 });
    expect((await storage.getSnapshot('t'))!.state.status).toBe('running');
  });

  it('rejects every call after close() with CLOSED', async () => {
    const { publisher } = make();
    await publisher.close();
    expect(await codeOf(publisher.publish('t', { progress: 1 }))).toBe('CLOSED');
  });

  it('wraps a failing storage in a retryable STORAGE_UNAVAILABLE error', async () => {
    const storage = createMemoryStorage();
    storage.appendEvents = async () => {
      throw new Error('connection refused');
    };
    const publisher = createProgressPublisher({ storage });
    const error = await publisher.publish('t', { progress: 1 }).catch((e: unknown) => e);
    expect(isProgressError(error) && error.code).toBe('STORAGE_UNAVAILABLE');
    expect(isProgressError(error) && error.retryable).toBe(true);
  });
});

describe('publisher throttle', () => {
  it('sends the first update at once and coalesces a burst to the latest', async () => {
    vi.useFakeTimers();
    const { storage, publisher } = make(1_000);
    const first = await publisher.publish('t', { progress: 1 });
    const burst = [2, 3, 4, 5].map((progress) => publisher.publish('t', { progress }));
    await vi.advanceTimersByTimeAsync(1_000);
    const receipts = await Promise.all(burst);
    expect(first).toEqual({ taskId: 't', seq: 1, coalesced: false });
    expect(receipts).toEqual([
      { taskId: 't', seq: 2, coalesced: true },
      { taskId: 't', seq: 2, coalesced: true },
      { taskId: 't', seq: 2, coalesced: true },
      { taskId: 't', seq: 2, coalesced: false },
    ]);
    const history = await storage.getHistory('t', { limit: 10 });
    expect(history.map((e) => (e.type === 'progress' ? e.payload.progress : -1))).toEqual([1, 5]);
  });

  it('writes the pending update before a status change, then the status', async () => {
    vi.useFakeTimers();
    const { storage, publisher } = make(1_000);
    await publisher.publish('t', { progress: 10 });
    const pending = publisher.publish('t', { progress: 99 });
    await publisher.setStatus('t', 'completed');
    expect((await pending).seq).toBe(2);
    const history = await storage.getHistory('t', { limit: 10 });
    expect(history.map((e) => e.type)).toEqual(['progress', 'progress', 'status']);
    expect(history[1]!.type === 'progress' && history[1]!.payload.progress).toBe(99);
  });

  it('writes the pending update before an error report', async () => {
    vi.useFakeTimers();
    const { storage, publisher } = make(1_000);
    await publisher.publish('t', { progress: 10 });
    void publisher.publish('t', { progress: 20 });
    await publisher.reportError('t', { stepId: 's', error: 'boom' });
    expect((await storage.getHistory('t', { limit: 10 })).map((e) => e.type)).toEqual([
      'progress',
      'progress',
      'error',
    ]);
  });

  it('sends the first update after a terminal status at once when the task is reopened', async () => {
    vi.useFakeTimers();
    const { publisher } = make(60_000);
    await publisher.publish('t', { progress: 10 });
    await publisher.setStatus('t', 'cancelled');
    await publisher.setStatus('t', 'running');
    expect(await publisher.publish('t', { progress: 1 })).toEqual({ taskId: 't', seq: 4, coalesced: false });
  });

  it('throttles each task on its own', async () => {
    vi.useFakeTimers();
    const { publisher } = make(1_000);
    expect((await publisher.publish('a', { progress: 1 })).coalesced).toBe(false);
    expect((await publisher.publish('b', { progress: 1 })).coalesced).toBe(false);
  });

  it('writes pending updates on close()', async () => {
    vi.useFakeTimers();
    const { storage, publisher } = make(10_000);
    await publisher.publish('t', { progress: 1 });
    const pending = publisher.publish('t', { progress: 2 });
    await publisher.close();
    expect((await pending).seq).toBe(2);
    expect((await storage.getSnapshot('t'))!.state.progress).toBe(2);
  });
});
