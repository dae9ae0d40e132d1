/**
 * Property tests of REST parameter parsing and of the HTTP core under hostile requests: the
 * parameter readers agree with their documented rules, random requests never make the core
 * reject or answer 5xx, no encoding of a task id slips past `authorize`, and no request
 * touches another user's client.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../../src/adapters/storage/memory.js';
import type { StorageAdapter } from '../../src/adapters/storage/types.js';
import { createAuthHooks } from '../../src/server/auth.js';
import { createHttpApi, type HttpApi } from '../../src/server/http/api.js';
import {
  decodeTaskId,
  HttpError,
  MAX_HISTORY_LIMIT,
  readCount,
  readRequired,
} from '../../src/server/http/params.js';
import { silentLogger } from '../../src/server/logger.js';
import { createProgressPublisher } from '../../src/server/progress-service.js';
import type { ClientRegistry } from '../../src/server/types.js';
import { ERROR_CODE_INFO, type ErrorCode } from '../../src/shared/codes.js';

const SEED = 20_260_221;
const BASE = 'http://api.test/api/v1';

/** No lone surrogate (`String.prototype.isWellFormed` is past this project's ES2022 lib). */
const isWellFormed = (text: string): boolean => !/\p{Cs}/u.test(text);
/** Lone surrogates replaced by U+FFFD, as a URL query round trip does. */
const toWellFormed = (text: string): string => text.replace(/\p{Cs}/gu, '\uFFFD');

/** The `HttpError` code `fn` throws, or its value. */
function outcome<T>(fn: () => T): { value: T } | { code: ErrorCode } {
  try {
    return { value: fn() };
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return { code: error.code };
  }
}

const urlWith = (name: string, raw: string | undefined): URL => {
  const url = new URL(`${BASE}/progress/t/history`);
  if (raw !== undefined) url.searchParams.set(name, raw);
  return url;
};

/** Query values a client may send for a count: numbers in many spellings, and junk. */
const countText: fc.Arbitrary<string> = fc.oneof(
  fc.nat({ max: 5_000 }).map(String),
  fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String),
  fc.stringMatching(/^0{1,5}[0-9]{1,10}$/),
  fc.constantFrom(
    '',
    ' ',
    '-1',
    '-0',
    '+1',
    '1.5',
    '1.0',
    '1e3',
    ' 1',
    '1 ',
    '0x10',
    '0b1',
    '٣',
    '１',
    'NaN',
    'Infinity',
    '9007199254740991',
    '9007199254740992',
    '1,000',
    '１0',
  ),
  fc.string({ maxLength: 20 }),
);

/** A task id to test with: printable, unicode, astral, separators, up to 110 code points. */
const taskIdString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 110 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 110 }),
  fc.constantFrom(
    'stats',
    'active',
    '..',
    '.',
    '%',
    '%2F',
    'a/b',
    '?x=1',
    '#',
    '\u0000',
    ' ',
    '__proto__',
    '𝄞'.repeat(100),
    '𝄞'.repeat(101),
  ),
);

/** Percent-encodes `text` byte by byte where `mask` says so, with random hex case; the rest as encodeURIComponent does. */
function encodeVariant(text: string, mask: readonly boolean[], upper: readonly boolean[]): string {
  let out = '';
  let i = 0;
  for (const char of text) {
    const force = mask[i % Math.max(mask.length, 1)] ?? false;
    const caseUpper = upper[i % Math.max(upper.length, 1)] ?? true;
    i++;
    if (!force) {
      out += encodeURIComponent(char);
      continue;
    }
    for (const byte of new TextEncoder().encode(char)) {
      const hex = byte.toString(16).padStart(2, '0');
      out += `%${caseUpper ? hex.toUpperCase() : hex}`;
    }
  }
  return out;
}

const encodedTaskId = fc
  .tuple(
    taskIdString.filter((id) => isWellFormed(id)),
    fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
  )
  .map(([id, mask, upper]) => ({ id, raw: encodeVariant(id, mask, upper) }));

describe('REST parameter readers', () => {
  it('reads a count exactly when it is plain decimal digits (at most 16) within max, else INVALID_PARAMETER', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 10 }),
        fc.option(countText, { nil: undefined }),
        fc.oneof(
          fc.constant(Number.MAX_SAFE_INTEGER),
          fc.constant(MAX_HISTORY_LIMIT),
          fc.nat({ max: 10_000 }),
        ),
        (name, raw, max) => {
          const result = outcome(() => readCount(urlWith(name, raw), name, max));
          const plain = raw !== undefined && /^[0-9]{1,16}$/.test(raw);
          if (raw === undefined) expect(result).toEqual({ value: undefined });
          else if (plain && BigInt(raw) <= BigInt(max)) expect(result).toEqual({ value: Number(raw) });
          else expect(result).toEqual({ code: 'INVALID_PARAMETER' });
        },
      ),
      { seed: SEED, numRuns: 3_000 },
    );
  });

  it('never lets a count past MAX_SAFE_INTEGER', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{1,30}$/), (raw) => {
        const result = outcome(() => readCount(urlWith('after_seq', raw), 'after_seq'));
        if ('value' in result && result.value !== undefined)
          expect(Number.isSafeInteger(result.value)).toBe(true);
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });

  it('requires a non-empty value and returns it verbatim', () => {
    fc.assert(
      fc.property(fc.option(fc.string({ unit: 'binary', maxLength: 40 }), { nil: undefined }), (raw) => {
        const result = outcome(() => readRequired(urlWith('client_id', raw), 'client_id', 'hint'));
        expect(result).toEqual(
          raw === undefined || raw === '' ? { code: 'INVALID_PARAMETER' } : { value: toWellFormed(raw) },
        );
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });

  it('decodes a task id segment to the same id however it is percent-encoded', () => {
    fc.assert(
      fc.property(encodedTaskId, ({ id, raw }) => {
        const length = [...id].length;
        expect(outcome(() => decodeTaskId(raw))).toEqual(
          length >= 1 && length <= 100 ? { value: id } : { code: 'INVALID_TASK_ID' },
        );
      }),
      { seed: SEED, numRuns: 3_000 },
    );
  });

  it('answers INVALID_TASK_ID for malformed percent-encoding and never throws anything else', () => {
    const segment = fc
      .array(
        fc.oneof(
          fc.constantFrom(
            '%',
            '%2',
            '%ZZ',
            '%E2%82',
            '%C0%AF',
            '%ED%A0%80',
            '%F0%9F%98',
            '%25',
            '%00',
            'a',
            '€',
          ),
          fc.webSegment(),
        ),
        {
          minLength: 1,
          maxLength: 6,
        },
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(segment, (raw) => {
        let decoded: string | undefined;
        try {
          decoded = decodeURIComponent(raw);
        } catch {
          decoded = undefined;
        }
        const result = outcome(() => decodeTaskId(raw));
        if (decoded === undefined || [...decoded].length < 1 || [...decoded].length > 100) {
          expect(result).toEqual({ code: 'INVALID_TASK_ID' });
        } else {
          expect(result).toEqual({ value: decoded });
        }
      }),
      { seed: SEED, numRuns: 3_000 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// The HTTP core: `authorization: Bearer <user>` authenticates, tasks starting with `secret`
// are forbidden to everyone, and the registry knows one client per user.

interface Fixture {
  readonly api: HttpApi;
  /** The storage behind the API, unobserved. */
  readonly storage: StorageAdapter;
  /** Task ids storage was asked about, by operation. */
  readonly storageCalls: Array<[string, string]>;
  /** REST subscribe/unsubscribe calls that reached the registry. */
  readonly registryCalls: Array<[string, string, string]>;
}

const CLIENT_OF: Readonly<Record<string, string>> = { alice: 'client-alice', bob: 'client-bob' };

async function fixture(): Promise<Fixture> {
  const inner = createMemoryStorage();
  const publisher = createProgressPublisher({ storage: inner });
  await publisher.publish('task-001', { progress: 10 });
  await publisher.publish('secret-1', { progress: 20, message: 'classified' });
  await publisher.close();
  const storageCalls: Array<[string, string]> = [];
  const storage: StorageAdapter = {
    ...inner,
    getSnapshot: (taskId) => {
      storageCalls.push(['getSnapshot', taskId]);
      return inner.getSnapshot(taskId);
    },
    getHistory: (taskId, query) => {
      storageCalls.push(['getHistory', taskId]);
      return inner.getHistory(taskId, query);
    },
    clearHistory: (taskId) => {
      storageCalls.push(['clearHistory', taskId]);
      return inner.clearHistory(taskId);
    },
  };
  const registryCalls: Array<[string, string, string]> = [];
  const owners = new Map(Object.entries(CLIENT_OF).map(([user, client]) => [client, user]));
  const clients: ClientRegistry = {
    stats: () => ({ totalClients: owners.size, byUser: { alice: 1, bob: 1 }, byProject: {} }),
    identityOf: (clientId) => {
      const user = owners.get(clientId);
      return user === undefined ? undefined : { userId: user, projectId: '' };
    },
    subscribe: async (clientId, taskId) => {
      registryCalls.push(['subscribe', clientId, taskId]);
      return owners.has(clientId);
    },
    unsubscribe: async (clientId, taskId) => {
      registryCalls.push(['unsubscribe', clientId, taskId]);
      return owners.has(clientId);
    },
  };
  const auth = createAuthHooks(
    (request) => {
      const user = request.headers.get('authorization')?.match(/^Bearer ([a-z]+)$/)?.[1];
      return user === undefined ? null : { userId: user, projectId: '' };
    },
    (_identity, taskId) => !taskId.startsWith('secret'),
    silentLogger,
  );
  const api = createHttpApi({ basePath: '/api/v1', storage, clients, auth, logger: silentLogger });
  return { api, storage: inner, storageCalls, registryCalls };
}

/** Every documented REST answer: its status, and for errors a code whose table entry has that status. */
async function expectDocumentedAnswer(response: Response, method: string): Promise<void> {
  expect([200, 204, 400, 401, 403, 404, 405, 413]).toContain(response.status);
  expect(response.headers.get('cache-control')).toBe('no-store');
  if (method === 'HEAD' || method === 'OPTIONS') return;
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
  const body: unknown = await response.json();
  if (response.status >= 400) {
    const error = body as { error: unknown; code: ErrorCode };
    expect(Object.keys(error).sort()).toEqual(['code', 'error']);
    expect(typeof error.error).toBe('string');
    expect(ERROR_CODE_INFO[error.code].httpStatus).toBe(response.status);
  }
}

const ROUTE_WORDS = [
  'progress',
  'stats',
  'active',
  'history',
  'db',
  'subscribe',
  'unsubscribe',
  'websocket',
  'task-001',
  'secret-1',
];

const taskSegment: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom('task-001', 'secret-1', 'unknown-task'), weight: 3 },
  { arbitrary: encodedTaskId.map(({ raw }) => raw), weight: 2 },
  { arbitrary: fc.constantFrom('', '%', '%ZZ', '%2F', '%00', 'x'.repeat(300)), weight: 1 },
);

const hostileRequest = fc.record({
  method: fc.oneof(
    { arbitrary: fc.constantFrom('GET', 'POST'), weight: 6 },
    {
      arbitrary: fc.constantFrom(
        'HEAD',
        'DELETE',
        'PUT',
        'PATCH',
        'OPTIONS',
        'toString',
        'constructor',
        '__proto__',
      ),
      weight: 2,
    },
  ),
  segments: fc.oneof(
    {
      // Route-shaped paths with a hostile task segment.
      arbitrary: fc
        .tuple(
          taskSegment,
          fc.constantFrom([], ['history'], ['history', 'db'], ['subscribe'], ['unsubscribe']),
        )
        .map(([task, rest]) => ['progress', task, ...rest]),
      weight: 6,
    },
    {
      arbitrary: fc.array(fc.oneof(fc.constantFrom(...ROUTE_WORDS), taskSegment, fc.webSegment()), {
        minLength: 1,
        maxLength: 5,
      }),
      weight: 2,
    },
  ),
  query: fc.array(
    fc.tuple(
      fc.constantFrom('limit', 'after_seq', 'client_id', 'since', 'x'),
      fc.oneof(fc.nat({ max: 50 }).map(String), countText, fc.constantFrom('client-alice', 'client-bob')),
    ),
    { maxLength: 3 },
  ),
  user: fc.option(fc.constantFrom('alice', 'bob', 'mallory'), { nil: undefined }),
  contentLength: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 8 },
    { arbitrary: fc.nat({ max: 100_000 }).map(String), weight: 1 },
    { arbitrary: fc.constantFrom('-1', 'abc', '1e9', '', '65536', '65537'), weight: 1 },
  ),
});

describe('the HTTP core under hostile requests', () => {
  it('never rejects and answers only documented statuses with well-formed JSON', async () => {
    const { api } = await fixture();
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(hostileRequest, async ({ method, segments, query, user, contentLength }) => {
        const url = new URL(`${BASE}/${segments.join('/')}`);
        for (const [name, value] of query) url.searchParams.append(name, value);
        const headers = new Headers();
        if (user !== undefined) headers.set('authorization', `Bearer ${user}`);
        if (contentLength !== undefined) headers.set('content-length', contentLength);
        const response = await api.handle(new Request(url, { method, headers }));
        if (response === undefined) return;
        seen.add(response.status);
        await expectDocumentedAnswer(response, method);
      }),
      { seed: SEED, numRuns: 2_000 },
    );
    // The run reached every kind of answer, so the property was not vacuous.
    expect([...seen].sort()).toEqual([200, 204, 400, 401, 403, 404, 405, 413]);
  });

  it('refuses every route of a forbidden task, however its id is encoded, before storage or the registry sees it', async () => {
    const f = await fixture();
    const forbidden = fc
      .tuple(
        fc.string({ maxLength: 20 }).filter((s) => isWellFormed(s)),
        fc.array(fc.boolean(), { minLength: 1 }),
        fc.array(fc.boolean(), { minLength: 1 }),
      )
      .map(([suffix, mask, upper]) => ({
        id: `secret${suffix}`,
        raw: encodeVariant(`secret${suffix}`, mask, upper),
      }))
      .filter(({ id }) => [...id].length <= 100);
    const routes: Array<[string, string]> = [
      ['GET', ''],
      ['HEAD', ''],
      ['GET', '/history'],
      ['GET', '/history/db'],
      ['DELETE', '/history'],
      ['POST', '/subscribe?client_id=client-alice'],
      ['POST', '/unsubscribe?client_id=client-alice'],
    ];
    await fc.assert(
      fc.asyncProperty(forbidden, fc.constantFrom(...routes), async ({ raw }, [method, rest]) => {
        f.storageCalls.length = 0;
        f.registryCalls.length = 0;
        const response = await f.api.handle(
          new Request(`${BASE}/progress/${raw}${rest}`, {
            method,
            headers: { authorization: 'Bearer alice' },
          }),
        );
        expect(response?.status).toBe(403);
        if (method !== 'HEAD') expect(await response?.json()).toMatchObject({ code: 'FORBIDDEN' });
        expect(f.storageCalls).toEqual([]);
        expect(f.registryCalls).toEqual([]);
      }),
      { seed: SEED, numRuns: 1_500 },
    );
    // The forbidden task's history is still there: no DELETE got through.
    expect((await f.storage.getHistory('secret-1', { limit: 10 })).map((event) => event.seq)).toEqual([1]);
  });

  it('subscribes or unsubscribes a client only for the user who owns it', async () => {
    const f = await fixture();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('alice', 'bob', 'mallory'),
        fc.constantFrom('client-alice', 'client-bob', 'client-nobody', ''),
        fc.constantFrom('subscribe', 'unsubscribe'),
        // '.' and '..' are dot segments in any spelling (URL spec), so they cannot name a task in a path.
        encodedTaskId.filter(
          ({ id }) => [...id].length <= 100 && !id.startsWith('secret') && id !== '.' && id !== '..',
        ),
        async (user, clientId, action, { raw }) => {
          f.registryCalls.length = 0;
          const response = await f.api.handle(
            new Request(`${BASE}/progress/${raw}/${action}?client_id=${encodeURIComponent(clientId)}`, {
              method: 'POST',
              headers: { authorization: `Bearer ${user}` },
            }),
          );
          const owned = CLIENT_OF[user] === clientId;
          if (clientId === '') expect(response?.status).toBe(400);
          else expect(response?.status).toBe(owned ? 200 : 404);
          // A foreign or unknown client is never handed to the registry.
          expect(f.registryCalls.every(([, calledFor]) => calledFor === CLIENT_OF[user])).toBe(true);
          expect(f.registryCalls).toHaveLength(owned ? 1 : 0);
        },
      ),
      { seed: SEED, numRuns: 1_000 },
    );
  });

  it('answers 401 to every route without credentials, before looking at the task id', async () => {
    const f = await fixture();
    await fc.assert(
      fc.asyncProperty(hostileRequest, async ({ method, segments }) => {
        f.storageCalls.length = 0;
        const response = await f.api.handle(new Request(`${BASE}/${segments.join('/')}`, { method }));
        if (response === undefined || method === 'OPTIONS' || response.status === 405) return;
        expect(response.status).toBe(401);
        expect(f.storageCalls).toEqual([]);
      }),
      { seed: SEED, numRuns: 1_000 },
    );
  });
});
