/**
 * Hostile client frames for property tests and the socket fuzz run: valid client messages,
 * messages with mutated fields, byte-level mutations of serialised messages, newline-batched
 * mixes, pretty-printed, deep and large documents, and raw noise. Everything is drawn from
 * fast-check arbitraries, so a seed reproduces a run exactly.
 */
import fc from 'fast-check';

/** A small pool of task ids, so random subscribes and unsubscribes hit the same tasks. */
export const TASK_ID_POOL = [
  'task-001',
  'observed',
  'a/b',
  '任务-1',
  '__proto__',
  'constructor',
  'x'.repeat(100),
] as const;

/** JSON texts of values that have broken parsers and validators before. */
const NASTY_JSON = [
  'null',
  'true',
  'false',
  '0',
  '-0',
  '-1',
  '1.5',
  '1e308',
  '-1e308',
  '9007199254740992',
  '1e-7',
  '""',
  '"x"',
  '[]',
  '{}',
  '[null]',
  '{"":""}',
  '"\\u0000"',
  '"\\ud800"',
  '"\\u2028\\u2029"',
  JSON.stringify('x'.repeat(101)),
  JSON.stringify('𝄞'.repeat(51)),
  '{"__proto__":{"action":"subscribe"}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '"subscribe"',
  '"ping"',
  '{"toString":1,"valueOf":2}',
] as const;

/** A JSON text: a random JSON value or one of the nasty ones. */
export const hostileJsonText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...NASTY_JSON), weight: 3 },
  { arbitrary: fc.json({ maxDepth: 3 }), weight: 2 },
  { arbitrary: fc.integer().map(String), weight: 1 },
  { arbitrary: fc.double().map((n) => (Number.isFinite(n) ? JSON.stringify(n) : 'null')), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)), weight: 1 },
);

const taskIdText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...TASK_ID_POOL).map((id) => JSON.stringify(id)), weight: 4 },
  { arbitrary: fc.string({ minLength: 1, maxLength: 100 }).map((s) => JSON.stringify(s)), weight: 2 },
  { arbitrary: hostileJsonText, weight: 2 },
);

const sinceText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.nat({ max: 200 }).map(String), weight: 3 },
  { arbitrary: hostileJsonText, weight: 1 },
);

/** The three client messages, always valid. */
export const validMessageText: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...TASK_ID_POOL), fc.option(fc.nat({ max: 200 }), { nil: undefined }))
    .map(([taskId, since]) => JSON.stringify({ action: 'subscribe', task_id: taskId, since })),
  fc
    .constantFrom(...TASK_ID_POOL)
    .map((taskId) => JSON.stringify({ action: 'unsubscribe', task_id: taskId })),
  fc.constant('{"type":"ping"}'),
);

/** A key of a message object: the real ones, prototype names, and random strings. */
const keyText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'action',
    'type',
    'task_id',
    'since',
    '__proto__',
    'constructor',
    'prototype',
    'client_id',
    '',
  ),
  fc.string({ maxLength: 12 }),
);

/**
 * An object text around the real message shapes, each field kept, dropped or replaced by a
 * hostile value, with extra and duplicate keys. Built as text, so `__proto__` and duplicate
 * keys reach the server exactly as written.
 */
export const mutatedObjectText: fc.Arbitrary<string> = fc
  .record({
    action: fc.option(
      fc.oneof(
        fc.constantFrom('"subscribe"', '"unsubscribe"', '"SUBSCRIBE"', '"subscribe "', '"delete"'),
        hostileJsonText,
      ),
      { nil: undefined },
    ),
    type: fc.option(fc.oneof(fc.constantFrom('"ping"', '"pong"', '"Ping"'), hostileJsonText), {
      nil: undefined,
    }),
    taskId: fc.option(taskIdText, { nil: undefined }),
    since: fc.option(sinceText, { nil: undefined }),
    extra: fc.array(fc.tuple(keyText, hostileJsonText), { maxLength: 3 }),
    shuffle: fc.boolean(),
  })
  .map(({ action, type, taskId, since, extra, shuffle }) => {
    const fields: Array<[string, string]> = [];
    if (action !== undefined) fields.push(['action', action]);
    if (type !== undefined) fields.push(['type', type]);
    if (taskId !== undefined) fields.push(['task_id', taskId]);
    if (since !== undefined) fields.push(['since', since]);
    fields.push(...extra);
    if (shuffle) fields.reverse();
    return `{${fields.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
  });

/** Characters that matter to a JSON parser or a line splitter, and some that matter to nothing. */
const noiseChar: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '{',
    '}',
    '[',
    ']',
    '"',
    ':',
    ',',
    '\\',
    '\n',
    '\r',
    '\t',
    ' ',
    '\u0000',
    '\u2028',
    '0',
    '-',
    'e',
    '.',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);

type Edit =
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'insert'; readonly at: number; readonly text: string }
  | { readonly kind: 'replace'; readonly at: number; readonly text: string }
  | { readonly kind: 'duplicate'; readonly at: number; readonly length: number }
  | { readonly kind: 'truncate'; readonly at: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.string({ unit: noiseChar, minLength: 1, maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: noiseChar }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 16 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function applyEdit(text: string, e: Edit): string {
  const at = text.length === 0 ? 0 : e.at % (text.length + 1);
  switch (e.kind) {
    case 'delete':
      return text.slice(0, at) + text.slice(at + e.length);
    case 'insert':
      return text.slice(0, at) + e.text + text.slice(at);
    case 'replace':
      return text.slice(0, at) + e.text + text.slice(at + 1);
    case 'duplicate':
      return text.slice(0, at + e.length) + text.slice(at, at + e.length) + text.slice(at + e.length);
    case 'truncate':
      return text.slice(0, at);
  }
}

/** A valid or field-mutated message with one to four character-level edits. */
export const byteMutatedText: fc.Arbitrary<string> = fc
  .tuple(fc.oneof(validMessageText, mutatedObjectText), fc.array(edit, { minLength: 1, maxLength: 4 }))
  .map(([text, edits]) => edits.reduce(applyEdit, text));

/** One line of a frame: anything from a valid message to noise. */
export const lineText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: validMessageText, weight: 3 },
  { arbitrary: mutatedObjectText, weight: 4 },
  { arbitrary: byteMutatedText, weight: 4 },
  { arbitrary: hostileJsonText, weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 60 }), weight: 1 },
);

/** Nested arrays or objects up to 9,000 deep (under 54 KB), closed or not. */
const deepText: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 100, max: 9_000 }), fc.boolean(), fc.boolean())
  .map(([depth, objects, closed]) => {
    const open = objects ? '{"a":'.repeat(depth) : '['.repeat(depth);
    return closed ? open + (objects ? '1' : '') + (objects ? '}' : ']').repeat(depth) : open;
  });

/** A large document: a long string field, or many keys, up to about 50 KB. */
const largeText: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 1_000, max: 50_000 }), fc.boolean())
  .map(([size, manyKeys]) =>
    manyKeys
      ? `{"action":"subscribe","task_id":"task-001",${Array.from({ length: Math.floor(size / 12) }, (_, i) => `"k${i}":${i}`).join(',')}}`
      : JSON.stringify({ action: 'subscribe', task_id: 'task-001', pad: 'x'.repeat(size) }),
  );

/** Subscribes to many distinct tasks in one newline-batched frame (reaches the subscription cap). */
const subscriptionFlood: fc.Arbitrary<string> = fc
  .uniqueArray(fc.string({ minLength: 1, maxLength: 30 }), { minLength: 20, maxLength: 120 })
  .map((ids) => ids.map((id) => JSON.stringify({ action: 'subscribe', task_id: id })).join('\n'));

/**
 * A text frame: one line, a newline-batched mix, a pretty-printed document, blank, deep,
 * large, or a subscription flood.
 */
export const frameText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: lineText, weight: 60 },
  {
    arbitrary: fc
      .tuple(fc.array(lineText, { minLength: 2, maxLength: 8 }), fc.constantFrom('\n', '\r\n', '\n\n'))
      .map(([lines, separator]) => lines.join(separator)),
    weight: 20,
  },
  { arbitrary: validMessageText.map((text) => JSON.stringify(JSON.parse(text), null, 2)), weight: 2 },
  {
    arbitrary: fc.constantFrom('', ' ', '\n', '\r\n', ' \n \n', '\u0000', '\ufeff{"type":"ping"}'),
    weight: 2,
  },
  { arbitrary: deepText, weight: 1 },
  { arbitrary: largeText, weight: 1 },
  { arbitrary: subscriptionFlood, weight: 1 },
);

/** A frame as sent on the wire: text, or binary bytes (the server reads those as UTF-8 too). */
export type FuzzFrame =
  | { readonly binary: false; readonly data: string }
  | { readonly binary: true; readonly data: Uint8Array };

export const fuzzFrame: fc.Arbitrary<FuzzFrame> = fc.oneof(
  { arbitrary: frameText.map((data): FuzzFrame => ({ binary: false, data })), weight: 49 },
  {
    arbitrary: fc.uint8Array({ maxLength: 200 }).map((data): FuzzFrame => ({ binary: true, data })),
    weight: 1,
  },
);

/** `count` frames drawn deterministically from `seed`. */
export function sampleFrames(seed: number, count: number): FuzzFrame[] {
  return fc.sample(fuzzFrame, { seed, numRuns: count });
}
