/**
 * Cross-user isolation over real sockets and real HTTP: with `authenticate` (a bearer token
 * naming the user) and `authorize` (a task belongs to one user), user B cannot follow, read,
 * clear or resume user A's task, cannot steer A's connection through REST, and a resumed
 * session keeps only what `authorize` still allows.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { connectRaw, type RawClient, seqsOf, type WireMessage } from '../helpers/raw-client.js';

let t: TestServer;
const clients: RawClient[] = [];
/** Task -> owning user; `authorize` reads it on every call, so a test can revoke access. */
const owners = new Map<string, string>();

beforeEach(async () => {
  owners.clear();
  for (const [task, user] of [
    ['alice-task', 'alice'],
    ['alice-other', 'alice'],
    ['bob-task', 'bob'],
  ] as const) {
    owners.set(task, user);
  }
  t = await startServer({
    heartbeat: { intervalMs: 0 },
    sessionTtlMs: 60_000,
    authenticate: (request) => {
      const user = request.headers.get('authorization')?.match(/^Bearer ([a-z]+)$/)?.[1];
      return user === undefined ? null : { userId: user, projectId: 'p' };
    },
    authorize: (identity, taskId) => owners.get(taskId) === identity.userId,
  });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await t.close();
});

const as = (user: string) => ({ headers: { authorization: `Bearer ${user}` } });

const connect = async (user: string, query = ''): Promise<RawClient> => {
  const client = await connectRaw(t.wsUrl(query), as(user));
  clients.push(client);
  await client.waitFor((m) => m.type === 'connected' || m.type === 'reconnected');
  return client;
};

const subscribe = async (client: RawClient, taskId: string): Promise<WireMessage> => {
  client.send({ action: 'subscribe', task_id: taskId });
  return client.waitFor((m) => m.task_id === taskId && (m.type === 'subscribed' || m.type === 'error'));
};

const rest = async (user: string, method: string, path: string) => {
  const response = await fetch(`${t.httpUrl}/api/v1${path}`, { method, ...as(user) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as WireMessage) };
};

/** Messages about `taskId` the client received. */
const about = (client: RawClient, taskId: string) => client.messages.filter((m) => m.task_id === taskId);

describe('user B and user A’s task over the socket', () => {
  it('refuses B’s subscribes (plain, with since, repeated) with FORBIDDEN, sends B none of the task’s events, and keeps B connected', async () => {
    const alice = await connect('alice');
    await subscribe(alice, 'alice-task');
    const bob = await connect('bob');
    bob.send({ action: 'subscribe', task_id: 'alice-task' });
    bob.send({ action: 'subscribe', task_id: 'alice-task', since: 0 });
    bob.send(
      '{"action":"subscribe","task_id":"alice-task"}\n{"action":"subscribe","task_id":"alice-task","since":0}',
    );
    await bob.waitForCount((m) => m.type === 'error' && m.task_id === 'alice-task', 4);
    for (let i = 1; i <= 3; i++)
      await t.server.publish('alice-task', { progress: i * 10, message: 'private' });
    // B's own task is published last: once B has it, any event of A's task would have arrived.
    await subscribe(bob, 'bob-task');
    const own = await t.server.publish('bob-task', { progress: 1 });
    await bob.waitFor((m) => m.task_id === 'bob-task' && m.seq === own.seq);

    expect(about(bob, 'alice-task').map((m) => [m.type, m.payload.code, m.seq])).toEqual(
      Array(4).fill(['error', 'FORBIDDEN', undefined]),
    );
    await alice.waitFor((m) => m.task_id === 'alice-task' && m.seq === 3);
    expect(seqsOf(alice, 'alice-task')).toEqual([1, 2, 3]);
    bob.send({ type: 'ping' });
    await bob.waitFor((m) => m.type === 'pong');
  });

  it('answers B’s REST subscribe of its own connection to A’s task with 403 and subscribes nothing', async () => {
    const bob = await connect('bob');
    const bobId = bob.messages[0]!.payload.client_id as string;
    const answer = await rest('bob', 'POST', `/progress/alice-task/subscribe?client_id=${bobId}`);
    expect(answer).toEqual({
      status: 403,
      body: { error: 'Access to task "alice-task" is forbidden.', code: 'FORBIDDEN' },
    });
    await t.server.publish('alice-task', { progress: 5 });
    await subscribe(bob, 'bob-task');
    const own = await t.server.publish('bob-task', { progress: 1 });
    await bob.waitFor((m) => m.task_id === 'bob-task' && m.seq === own.seq);
    expect(about(bob, 'alice-task')).toEqual([]);
  });

  it('refuses B’s REST calls that name A’s connection (404 CLIENT_NOT_FOUND, or 403 on A’s task) and leaves A’s subscriptions alone', async () => {
    const alice = await connect('alice');
    const aliceId = alice.messages[0]!.payload.client_id as string;
    await subscribe(alice, 'alice-task');
    const subscribeForeign = await rest('bob', 'POST', `/progress/bob-task/subscribe?client_id=${aliceId}`);
    const unsubscribeForeign = await rest(
      'bob',
      'POST',
      `/progress/alice-task/unsubscribe?client_id=${aliceId}`,
    );
    expect(subscribeForeign).toEqual({
      status: 404,
      body: { error: `Client "${aliceId}" is not connected to this server.`, code: 'CLIENT_NOT_FOUND' },
    });
    // Naming A's task as well: authorize refuses B before the client is even looked up.
    expect(unsubscribeForeign).toEqual({
      status: 403,
      body: { error: 'Access to task "alice-task" is forbidden.', code: 'FORBIDDEN' },
    });
    await t.server.publish('bob-task', { progress: 1 });
    const own = await t.server.publish('alice-task', { progress: 2 });
    await alice.waitFor((m) => m.task_id === 'alice-task' && m.seq === own.seq);
    expect(about(alice, 'bob-task')).toEqual([]);
    expect(alice.messages.filter((m) => m.type === 'unsubscribed')).toEqual([]);
  });
});

describe('user B and user A’s task over REST', () => {
  /** `alice-task` spelled as a client might: plain, percent-encoded, mixed-case hex. */
  const spellings = ['alice-task', 'alice%2Dtask', 'alice%2dtask', '%61%6C%69%63%65%2D%74%61%73%6B'];

  it.each(spellings)(
    'answers 403 FORBIDDEN to every read and write of A’s task as /progress/%s',
    async (spelling) => {
      await t.server.publish('alice-task', { progress: 40, message: 'private' });
      const forbidden = { error: 'Access to task "alice-task" is forbidden.', code: 'FORBIDDEN' };
      expect(await rest('bob', 'GET', `/progress/${spelling}`)).toEqual({ status: 403, body: forbidden });
      expect(await rest('bob', 'HEAD', `/progress/${spelling}`)).toEqual({ status: 403, body: undefined });
      expect(await rest('bob', 'GET', `/progress/${spelling}/history`)).toEqual({
        status: 403,
        body: forbidden,
      });
      expect(await rest('bob', 'GET', `/progress/${spelling}/history/db?limit=1000`)).toEqual({
        status: 403,
        body: forbidden,
      });
      expect(await rest('bob', 'DELETE', `/progress/${spelling}/history`)).toEqual({
        status: 403,
        body: forbidden,
      });
      // A still reads its task, history intact.
      const own = await rest('alice', 'GET', `/progress/${spelling}/history`);
      expect(own.status).toBe(200);
      expect(own.body?.history.map((entry: WireMessage) => [entry.seq, entry.message])).toEqual([
        [1, 'private'],
      ]);
    },
  );

  it('answers 401 to a caller without credentials before revealing whether the task exists', async () => {
    await t.server.publish('alice-task', { progress: 40 });
    for (const path of ['/progress/alice-task', '/progress/no-such-task', '/progress/alice-task/history']) {
      const response = await fetch(`${t.httpUrl}/api/v1${path}`);
      expect([response.status, await response.json()]).toEqual([
        401,
        { error: 'Authentication required; the request was refused.', code: 'UNAUTHENTICATED' },
      ]);
    }
  });
});

describe('resuming A’s session', () => {
  it('gives B, who presents A’s client id, a fresh session that looks exactly like an unknown id, and leaves A’s session resumable', async () => {
    const alice = await connect('alice');
    const aliceId = alice.messages[0]!.payload.client_id as string;
    await subscribe(alice, 'alice-task');
    await alice.close();
    await t.server.publish('alice-task', { progress: 60, message: 'while away' });

    const bob = await connect('bob', `old_client_id=${aliceId}`);
    const stranger = await connect('bob', 'old_client_id=client-AAAAAAAAAAAAAAAAAAAAAA');
    const shape = (m: WireMessage) => ({ ...m.payload, client_id: '…', old_client_id: '…', timestamp: '…' });
    expect(bob.messages[0]).toMatchObject({
      type: 'reconnected',
      payload: { old_client_id: aliceId, resumed: false, reason: 'SESSION_NOT_FOUND', subscribed: {} },
    });
    expect(bob.messages[0]!.payload.client_id).not.toBe(aliceId);
    expect(shape(bob.messages[0]!)).toEqual(shape(stranger.messages[0]!));
    // B gets nothing of A's task, live or replayed.
    await t.server.publish('alice-task', { progress: 70 });
    await subscribe(bob, 'bob-task');
    const own = await t.server.publish('bob-task', { progress: 1 });
    await bob.waitFor((m) => m.task_id === 'bob-task' && m.seq === own.seq);
    expect(about(bob, 'alice-task')).toEqual([]);

    // B's attempt neither consumed nor changed A's session.
    const back = await connect('alice', `old_client_id=${aliceId}`);
    expect(back.messages[0]!.payload).toMatchObject({
      client_id: aliceId,
      resumed: true,
      subscribed: { 'alice-task': true },
    });
    await back.waitFor((m) => m.task_id === 'alice-task' && m.seq === 2);
    expect(seqsOf(back, 'alice-task')).toEqual([1, 2]);
  });

  it('does not hand A’s live connection to B: A stays connected and keeps receiving', async () => {
    const alice = await connect('alice');
    const aliceId = alice.messages[0]!.payload.client_id as string;
    await subscribe(alice, 'alice-task');
    const bob = await connect('bob', `old_client_id=${aliceId}`);
    expect(bob.messages[0]!.payload).toMatchObject({
      resumed: false,
      reason: 'SESSION_NOT_FOUND',
      subscribed: {},
    });
    const receipt = await t.server.publish('alice-task', { progress: 80 });
    await alice.waitFor((m) => m.task_id === 'alice-task' && m.seq === receipt.seq);
    expect(alice.ws.readyState).toBe(alice.ws.OPEN);
    expect(t.server.stats().byUser).toEqual({ alice: 1, bob: 1 });
  });

  /**
   * Resuming restores subscriptions; each is a subscribe, so `authorize` must be asked again
   * (SECURITY.md: "authorize on every subscribe"). Access revoked while the client was away
   * must not come back with the session.
   */
  it('asks authorize again for every subscription a resumed session restores', async () => {
    const alice = await connect('alice');
    const aliceId = alice.messages[0]!.payload.client_id as string;
    await subscribe(alice, 'alice-task');
    await subscribe(alice, 'alice-other');
    await alice.close();
    owners.set('alice-task', 'bob'); // access revoked while A is away
    await t.server.publish('alice-task', { progress: 10, message: 'now bob’s' });

    const back = await connect('alice', `old_client_id=${aliceId}`);
    expect(back.messages[0]!.payload).toMatchObject({ client_id: aliceId, resumed: true });
    await t.server.publish('alice-task', { progress: 20, message: 'now bob’s' });
    const sentinel = await t.server.publish('alice-other', { progress: 1 });
    await back.waitFor((m) => m.task_id === 'alice-other' && m.seq === sentinel.seq);
    await back.waitFor((m) => m.task_id === 'alice-task' && m.type === 'error', 2_000).catch(() => undefined);
    expect(about(back, 'alice-task').map((m) => [m.type, m.payload.code ?? m.payload.message])).toEqual([
      ['error', 'FORBIDDEN'],
    ]);
  });

  it('asks authorize again when a second socket of the same user takes over a live session', async () => {
    const alice = await connect('alice');
    const aliceId = alice.messages[0]!.payload.client_id as string;
    await subscribe(alice, 'alice-task');
    await subscribe(alice, 'alice-other');
    owners.set('alice-task', 'bob'); // access revoked while the first socket is still open

    const second = await connect('alice', `old_client_id=${aliceId}`);
    expect((await alice.closed).code).toBe(1000);
    await t.server.publish('alice-task', { progress: 20, message: 'now bob’s' });
    const sentinel = await t.server.publish('alice-other', { progress: 1 });
    await second.waitFor((m) => m.task_id === 'alice-other' && m.seq === sentinel.seq);
    await second
      .waitFor((m) => m.task_id === 'alice-task' && m.type === 'error', 2_000)
      .catch(() => undefined);
    expect(about(second, 'alice-task').map((m) => [m.type, m.payload.code ?? m.payload.message])).toEqual([
      ['error', 'FORBIDDEN'],
    ]);
  });
});
