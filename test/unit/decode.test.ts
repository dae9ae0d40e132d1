import { describe, expect, it } from 'vitest';
import { decodeClientFrame } from '../../src/shared/decode.js';
import { parseFrame } from '../../src/shared/frames.js';

describe('decodeClientFrame', () => {
  it('decodes the seed’s three client messages', () => {
    expect(decodeClientFrame('{"action":"subscribe","task_id":"task-001"}')).toEqual([
      { ok: true, message: { action: 'subscribe', task_id: 'task-001' } },
    ]);
    expect(decodeClientFrame('{"action":"unsubscribe","task_id":"task-001"}')).toEqual([
      { ok: true, message: { action: 'unsubscribe', task_id: 'task-001' } },
    ]);
    expect(decodeClientFrame('{"type":"ping"}')).toEqual([{ ok: true, message: { type: 'ping' } }]);
  });

  it('keeps since on subscribe', () => {
    expect(decodeClientFrame('{"action":"subscribe","task_id":"t","since":7}')).toEqual([
      { ok: true, message: { action: 'subscribe', task_id: 't', since: 7 } },
    ]);
  });

  it('decodes every line of a newline-batched frame', () => {
    const decoded = decodeClientFrame('{"type":"ping"}\n\n{"action":"subscribe","task_id":"a"}\n');
    expect(decoded.map((d) => d.ok)).toEqual([true, true]);
  });

  it('accepts one pretty-printed document spanning several lines', () => {
    expect(decodeClientFrame('{\n  "type": "ping"\n}')).toEqual([{ ok: true, message: { type: 'ping' } }]);
  });

  it('reports the task id of a refused message so the error can name it', () => {
    expect(decodeClientFrame('{"action":"subscribe","task_id":"t","since":"x"}')).toEqual([
      { ok: false, code: 'BAD_MESSAGE', error: expect.any(String), taskId: 't' },
    ]);
  });

  it('never throws on hostile input', () => {
    for (const frame of [
      '',
      '\n',
      'null',
      '0',
      'true',
      '{"__proto__":{"x":1}}',
      '{"action":null}',
      '{"type":{}}',
      '\u0000',
      '{'.repeat(10_000),
    ]) {
      expect(() => decodeClientFrame(frame)).not.toThrow();
    }
  });
});

describe('parseFrame', () => {
  it('marks lines that are not JSON as undefined', () => {
    expect(parseFrame('{"a":1}\nnope')).toEqual([{ value: { a: 1 } }, undefined]);
  });
});
