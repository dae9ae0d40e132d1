/**
 * Hostile clients against the admission and abuse limits, with the documented defaults:
 * forged `Origin` headers (cross-site WebSocket hijacking) refused before the upgrade, the
 * message rate limit (burst 200, one RATE_LIMITED, 4008 at the 100th refusal) and the
 * subscription cap (100) enforced exactly, per connection, on the socket and through REST.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ProgressServerOptions } from '../../src/server/index.js';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { connectRaw, type RawClient, type WireMessage } from '../helpers/raw-client.js';

let t: TestServer | undefined;
const clients: RawClient[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await t?.close();
  t = undefined;
});

const start = async (options: ProgressServerOptions = {}): Promise<TestServer> => {
  t = await startServer({ heartbeat: { intervalMs: 0 }, ...options });
  return t;
};

const connect = async (server: TestServer, query: string): Promise<RawClient> => {
  const client = await connectRaw(server.wsUrl(query));
  clients.push(client);
  await client.waitFor((m) => m.type === 'connected');
  return client;
};

/** The answer to an upgrade: 101, or the refusal's status and JSON body. */
async function upgrade(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body?: unknown }> {
  const ws = new WebSocket(url, { headers });
  sockets.push(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ status: 101 }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
    });
  });
}

describe('forged Origin headers once authenticate is set (same-origin default)', () => {
  const authenticate: ProgressServerOptions['authenticate'] = (request) =>
    request.headers.get('cookie') === 'session=alice' ? { userId: 'alice', projectId: '' } : null;

  it('refuses every look-alike of the server’s own origin with 403 ORIGIN_NOT_ALLOWED before the upgrade, on both endpoints', async () => {
    const server = await start({ authenticate });
    const self = `127.0.0.1:${server.port}`;
    const forged = [
      'https://evil.example',
      `http://${self}.evil.example`,
      `http://${self}@evil.example`,
      `http://evil.example#${self}`,
      `http://evil.example/${self}`,
      `http://127.0.0.1:${server.port + 1}`,
      `http://localhost:${server.port}`,
      'http://127.0.0.1',
      `http://[::1]:${server.port}`,
      'null',
      '',
      'file://',
      `${self}`,
      `http://${self}, https://evil.example`,
      `http://evil.example, http://${self}`,
    ];
    const refusal = {
      status: 403,
      body: { error: 'This origin may not open a WebSocket here.', code: 'ORIGIN_NOT_ALLOWED' },
    };
    for (const origin of forged) {
      for (const url of [server.wsUrl(), `ws://${self}/api/v1/ws/reconnect`]) {
        expect({ origin, ...(await upgrade(url, { cookie: 'session=alice', origin })) }).toEqual({
          origin,
          ...refusal,
        });
      }
    }
    expect(server.server.stats().totalClients).toBe(0);
    // The real origin, and a non-browser client without one, get in with the same cookie.
    expect(
      (await upgrade(server.wsUrl(), { cookie: 'session=alice', origin: `http://${self}` })).status,
    ).toBe(101);
    expect((await upgrade(server.wsUrl(), { cookie: 'session=alice' })).status).toBe(101);
  });

  it('refuses a foreign origin even when the cookie it borrows is valid, and never lets its socket see a task', async () => {
    const server = await start({ authenticate, allowedOrigins: ['https://app.example'] });
    expect(
      await upgrade(server.wsUrl(), { cookie: 'session=alice', origin: 'https://app.example.evil.example' }),
    ).toEqual({
      status: 403,
      body: { error: 'This origin may not open a WebSocket here.', code: 'ORIGIN_NOT_ALLOWED' },
    });
    expect(
      (await upgrade(server.wsUrl(), { cookie: 'session=alice', origin: 'https://APP.example' })).status,
    ).toBe(403);
    expect(
      (await upgrade(server.wsUrl(), { cookie: 'session=alice', origin: 'https://app.example' })).status,
    ).toBe(101);
    expect(server.server.stats()).toEqual({ totalClients: 1, byUser: { alice: 1 }, byProject: {} });
  });
});

describe('connection caps against forged identities', () => {
  it('counts connections per address by the socket’s peer, whatever X-Forwarded-For claims', async () => {
    const server = await start({ limits: { maxConnectionsPerIp: 2 } });
    expect((await upgrade(server.wsUrl('user_id=a'), {})).status).toBe(101);
    expect((await upgrade(server.wsUrl('user_id=b'), { 'x-forwarded-for': '203.0.113.7' })).status).toBe(101);
    expect(
      await upgrade(server.wsUrl('user_id=c'), {
        'x-forwarded-for': '198.51.100.9',
        'x-real-ip': '198.51.100.9',
      }),
    ).toEqual({
      status: 429,
      body: { error: 'Too many connections from this address.', code: 'TOO_MANY_CONNECTIONS' },
    });
  });

  it('counts connections per user by the authenticated identity, whatever user_id the query claims', async () => {
    const server = await start({
      limits: { maxConnectionsPerUser: 1 },
      authenticate: (request) =>
        request.headers.get('cookie') === 'session=alice' ? { userId: 'alice', projectId: '' } : null,
    });
    expect((await upgrade(server.wsUrl('user_id=alice'), { cookie: 'session=alice' })).status).toBe(101);
    expect((await upgrade(server.wsUrl('user_id=someone-else'), { cookie: 'session=alice' })).status).toBe(
      429,
    );
    expect(server.server.stats().byUser).toEqual({ alice: 1 });
  });
});

describe('the message rate limit with its defaults', () => {
  const pings = (count: number) => Array.from({ length: count }, () => '{"type":"ping"}').join('\n');

  it('answers the 200-message burst, refuses the rest with exactly one RATE_LIMITED, and stays open below 100 refusals', async () => {
    const server = await start();
    const flooder = await connect(server, 'user_id=mallory');
    // One frame: every message is handled at the same instant, so no token refills between them.
    flooder.send(pings(299));
    await flooder.waitFor((m) => m.type === 'error');
    await flooder.waitForCount((m) => m.type === 'pong', 200);
    const codes = flooder.messages.slice(1).map((m) => (m.type === 'error' ? m.payload.code : m.type));
    expect(codes).toEqual([...Array(200).fill('pong'), 'RATE_LIMITED']);
    expect(flooder.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('closes with 4008 at the 100th refused message, and only that connection of the user', async () => {
    const server = await start();
    const bystander = await connect(server, 'user_id=mallory');
    const flooder = await connect(server, 'user_id=mallory');
    flooder.send(pings(300));
    expect(await flooder.closed).toEqual({ code: 4008, reason: 'rate limit exceeded' });
    expect(flooder.messages.filter((m) => m.type === 'pong')).toHaveLength(200);
    // The bucket is per connection: the same user's other socket is untouched.
    bystander.send(pings(200));
    await bystander.waitForCount((m) => m.type === 'pong', 200);
    expect(bystander.messages.some((m) => m.type === 'error')).toBe(false);
    expect(server.server.metrics().rateLimitedMessagesTotal).toBe(100);
  });
});

describe('the subscription cap with its default (100)', () => {
  const subscribes = (ids: readonly string[]) =>
    ids.map((id) => JSON.stringify({ action: 'subscribe', task_id: id })).join('\n');
  const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

  it('holds exactly 100 of 150 subscribes sent in one frame, refusing each of the other 50 by name', async () => {
    const server = await start();
    const greedy = await connect(server, 'user_id=greedy');
    greedy.send(subscribes(ids('t', 150)));
    await greedy.waitForCount((m) => m.type === 'subscribed' || m.type === 'error', 150);
    const refused = greedy.messages.filter((m) => m.type === 'error');
    expect(refused.every((m) => m.payload.code === 'TOO_MANY_SUBSCRIPTIONS')).toBe(true);
    expect(refused.map((m) => m.task_id).sort()).toEqual(ids('t', 150).slice(100).sort());
    const subscribed = greedy.messages.filter((m) => m.type === 'subscribed');
    expect(subscribed.map((m) => m.task_id).sort()).toEqual(ids('t', 150).slice(0, 100).sort());
    expect(subscribed.at(-1)?.payload.topics).toHaveLength(100);
    // A refused task's events never arrive; an accepted one's do.
    await server.server.publish('t-149', { progress: 1 });
    const accepted = await server.server.publish('t-0', { progress: 1 });
    await greedy.waitFor((m) => m.task_id === 't-0' && m.seq === accepted.seq);
    expect(greedy.messages.filter((m: WireMessage) => m.task_id === 't-149').map((m) => m.type)).toEqual([
      'error',
    ]);
  });

  it('applies the same cap to REST subscribes, lets an existing subscription be repeated, and frees a slot on unsubscribe', async () => {
    const server = await start();
    const greedy = await connect(server, 'user_id=greedy');
    const clientId = greedy.messages[0]!.payload.client_id as string;
    greedy.send(subscribes(ids('t', 100)));
    await greedy.waitForCount((m) => m.type === 'subscribed', 100);
    const post = async (path: string) => {
      const response = await fetch(`${server.httpUrl}/api/v1/progress/${path}?client_id=${clientId}`, {
        method: 'POST',
      });
      return { status: response.status, body: (await response.json()) as WireMessage };
    };
    expect(await post('extra/subscribe')).toEqual({
      status: 400,
      body: {
        error: 'A client may follow at most 100 tasks; unsubscribe from one first.',
        code: 'TOO_MANY_SUBSCRIPTIONS',
      },
    });
    expect((await post('t-5/subscribe')).status).toBe(200);
    expect((await post('t-6/unsubscribe')).status).toBe(200);
    expect((await post('extra/subscribe')).status).toBe(200);
    expect((await post('t-6/subscribe')).status).toBe(400);
    // The other connection of the same user has its own 100.
    const second = await connect(server, 'user_id=greedy');
    second.send(subscribes(ids('u', 100)));
    await second.waitForCount((m) => m.type === 'subscribed', 100);
    expect(second.messages.some((m) => m.type === 'error')).toBe(false);
  });
});
