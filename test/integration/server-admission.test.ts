import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ProgressServerOptions } from '../../src/server/index.js';
import { startServer, type TestServer } from '../helpers/progress-server.js';
import { connectRaw, type RawClient } from '../helpers/raw-client.js';
import { waitUntil } from '../helpers/wait.js';

let t: TestServer | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await t?.close();
  t = undefined;
});

const start = async (options: ProgressServerOptions) => {
  t = await startServer({ heartbeat: { intervalMs: 0 }, ...options });
  return t;
};

/** The HTTP status an upgrade is refused with, or 101 when it is accepted. */
async function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(url, { headers });
  return new Promise((resolve) => {
    ws.once('open', () => {
      clients.push({ close: async () => ws.close() } as RawClient);
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
  });
}

describe('authentication at the upgrade', () => {
  it('answers 401 before the upgrade when authenticate returns null', async () => {
    await start({
      authenticate: (req) =>
        req.url.searchParams.get('token') === 'good' ? { userId: 'u', projectId: '' } : null,
    });
    expect(await upgradeStatus(t!.wsUrl('token=bad'))).toBe(401);
    expect(await upgradeStatus(t!.wsUrl('token=good'))).toBe(101);
  });

  it('closes a refused browser upgrade with 4001, since browsers cannot read the HTTP status', async () => {
    await start({ authenticate: () => null });
    const client = await connectRaw(t!.wsUrl(), { headers: { origin: `http://127.0.0.1:${t!.port}` } });
    expect((await client.closed).code).toBe(4001);
  });

  it('treats a throwing authenticate as a refusal', async () => {
    await start({
      authenticate: () => {
        throw new Error('db down');
      },
    });
    expect(await upgradeStatus(t!.wsUrl())).toBe(401);
  });

  it('reads cookies and headers through the normalised request', async () => {
    await start({
      authenticate: (req) =>
        req.headers.get('cookie') === 'sid=abc' ? { userId: 'cookie-user', projectId: 'p' } : null,
    });
    const client = await connectRaw(t!.wsUrl('user_id=ignored'), { headers: { cookie: 'sid=abc' } });
    clients.push(client);
    await client.waitFor((m) => m.type === 'connected');
    expect(t!.server.stats()).toEqual({ totalClients: 1, byUser: { 'cookie-user': 1 }, byProject: { p: 1 } });
  });
});

describe('origin checks', () => {
  it('accepts any origin by default when identities come from the query', async () => {
    await start({});
    expect(await upgradeStatus(t!.wsUrl(), { origin: 'https://elsewhere.example' })).toBe(101);
  });

  it('refuses a foreign origin with 403 once authenticate is set', async () => {
    await start({ authenticate: () => ({ userId: 'u', projectId: '' }) });
    expect(await upgradeStatus(t!.wsUrl(), { origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(t!.wsUrl(), { origin: `http://127.0.0.1:${t!.port}` })).toBe(101);
    expect(await upgradeStatus(t!.wsUrl())).toBe(101);
  });

  it('accepts exactly the configured origins and patterns', async () => {
    await start({ allowedOrigins: ['https://app.example.com', /^https:\/\/[a-z]+\.preview\.example\.com$/] });
    expect(await upgradeStatus(t!.wsUrl(), { origin: 'https://app.example.com' })).toBe(101);
    expect(await upgradeStatus(t!.wsUrl(), { origin: 'https://pr.preview.example.com' })).toBe(101);
    expect(await upgradeStatus(t!.wsUrl(), { origin: 'https://app.example.com.evil.example' })).toBe(403);
    expect(await upgradeStatus(t!.wsUrl(), { origin: 'null' })).toBe(403);
  });

  it('asks an allowedOrigins function', async () => {
    await start({ allowedOrigins: (origin) => origin.endsWith('.trusted.example') });
    expect(await upgradeStatus(t!.wsUrl(), { origin: 'https://a.trusted.example' })).toBe(101);
    expect(await upgradeStatus(t!.wsUrl(), { origin: 'https://a.untrusted.example' })).toBe(403);
  });
});

describe('connection caps', () => {
  it('refuses connections past maxConnectionsPerUser with 429 and admits again after one closes', async () => {
    await start({ limits: { maxConnectionsPerUser: 2 } });
    const first = await connectRaw(t!.wsUrl('user_id=a'));
    const second = await connectRaw(t!.wsUrl('user_id=a'));
    clients.push(second);
    expect(await upgradeStatus(t!.wsUrl('user_id=a'))).toBe(429);
    expect(await upgradeStatus(t!.wsUrl('user_id=b'))).toBe(101);
    await first.close();
    // The server counts the close when its socket closes, just after the client's.
    await waitUntil(async () => (await upgradeStatus(t!.wsUrl('user_id=a'))) === 101, 5_000, 'a free slot');
  });

  it('refuses connections past maxConnectionsPerIp and maxConnections', async () => {
    await start({ limits: { maxConnectionsPerIp: 1 } });
    clients.push(await connectRaw(t!.wsUrl('user_id=a')));
    expect(await upgradeStatus(t!.wsUrl('user_id=b'))).toBe(429);
    await t!.close();
    t = await startServer({ heartbeat: { intervalMs: 0 }, limits: { maxConnections: 1 } });
    clients.push(await connectRaw(t.wsUrl('user_id=a')));
    expect(await upgradeStatus(t.wsUrl('user_id=b'))).toBe(429);
  });
});

describe('REST subscribe of a connected client', () => {
  it('answers 403 when authorize refuses the task, 400 past the subscription cap, 200 otherwise', async () => {
    await start({
      authorize: (_identity, taskId) => taskId !== 'secret',
      limits: { maxSubscriptionsPerClient: 1 },
    });
    const client = await connectRaw(t!.wsUrl('user_id=a'));
    clients.push(client);
    const clientId = (await client.waitFor((m) => m.type === 'connected')).payload.client_id as string;
    const post = (taskId: string) =>
      fetch(`${t!.httpUrl}/api/v1/progress/${taskId}/subscribe?client_id=${clientId}`, { method: 'POST' });
    const forbidden = await post('secret');
    expect(forbidden.status).toBe(403);
    expect((await forbidden.json()).code).toBe('FORBIDDEN');
    expect((await post('open')).status).toBe(200);
    const capped = await post('another');
    expect(capped.status).toBe(400);
    expect((await capped.json()).code).toBe('TOO_MANY_SUBSCRIPTIONS');
    await client.waitFor((m) => m.type === 'subscribed' && m.task_id === 'open');
  });
});
