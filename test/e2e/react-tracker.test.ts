/**
 * RealtimeProgressTracker in real Chromium, built by Vite as an app would build it: the seed's
 * callbacks fire, `maxReconnectAttempts` is honoured, and a provider shares one socket.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProgressServer, type ProgressServer } from '../../src/server/index.js';
import { type Browser, launchBrowser } from './browser.js';

let browser: Browser;
let outDir: string;
beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'rp-react-app-'));
  await build({
    root: join(import.meta.dirname, 'react-app'),
    base: '/',
    logLevel: 'silent',
    build: { outDir, emptyOutDir: true, minify: true },
  });
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  rmSync(outDir, { recursive: true, force: true });
});

interface AppServer {
  readonly url: string;
  readonly progress: ProgressServer;
  /** Cuts every WebSocket's TCP connection, as a network failure would. */
  dropSockets(): void;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

async function startApp(): Promise<AppServer> {
  const httpServer = http.createServer();
  const progress = createProgressServer(httpServer, undefined, { heartbeat: { intervalMs: 0 } });
  const sockets = new Set<Duplex>();
  httpServer.on('upgrade', (_req, socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  httpServer.on('request', (req, res) =>
    progress.nodeHandler(req, res, () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      try {
        const body = readFileSync(join(outDir, path === '/' ? 'index.html' : path));
        res.writeHead(200, { 'content-type': TYPES[extname(path || '.html')] ?? 'text/html' }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    }),
  );
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    progress,
    dropSockets: () => {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      await progress.close();
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}

const trackerEvents = (page: Page) =>
  page.evaluate(
    () => (window as unknown as { trackerEvents: Array<{ type: string; value: unknown }> }).trackerEvents,
  );

const waitForEvent = (page: Page, type: string, count = 1) =>
  page.waitForFunction(
    ([t, n]) =>
      (window as unknown as { trackerEvents: Array<{ type: string }> }).trackerEvents.filter(
        (e) => e.type === t,
      ).length >= (n as number),
    [type, count] as const,
    { timeout: 10_000 },
  );

describe('RealtimeProgressTracker', () => {
  let app: AppServer | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('derives wsUrl from location and fires onProgress and onComplete with the seed payloads', async () => {
    app = await startApp();
    const page = await browser.context.newPage();
    await page.goto(`${app.url}/?tasks=task-001&history=1`);
    await page.waitForFunction(() => document.querySelector('.rp-tracker') !== null);
    await expect.poll(() => app!.progress.stats().totalClients, { timeout: 5_000 }).toBe(1);
    expect(app.progress.stats().byUser).toEqual({ 'user-123': 1 });
    // The subscription may land after the first publish; the snapshot covers it.
    for (const [index, progress] of [10, 50, 100].entries()) {
      await app.progress.publish('task-001', {
        progress,
        currentStep: `step ${index + 1}`,
        totalSteps: 3,
        completedSteps: index + 1,
        message: `at ${progress}`,
      });
    }
    await app.progress.setStatus('task-001', 'completed', { result: { output: 'done' } });
    await waitForEvent(page, 'complete');
    const bar = page.getByRole('progressbar');
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
    expect(await bar.getAttribute('aria-valuemin')).toBe('0');
    expect(await bar.getAttribute('aria-valuemax')).toBe('100');
    expect(await page.getByRole('status').textContent()).toBe('Completed');
    const events = await trackerEvents(page);
    const progressValues = events
      .filter((e) => e.type === 'progress')
      .map((e) => (e.value as { progress: number }).progress);
    expect(progressValues.at(-1)).toBe(100);
    expect(progressValues).toEqual([...progressValues].sort((a, b) => a - b));
    const complete = events.find((e) => e.type === 'complete')!.value as Record<string, unknown>;
    expect(complete).toMatchObject({ task_id: 'task-001', progress: 100, status: 'completed' });
    expect(await page.locator('.rp-tracker__history-item').count()).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(import.meta.dirname, 'artifacts', 'react-tracker.png') });
    await page.close();
  });

  it('fires onReconnect with the kept client id after the connection drops', async () => {
    app = await startApp();
    const page = await browser.context.newPage();
    await page.goto(`${app.url}/?tasks=task-r`);
    await expect.poll(() => app!.progress.stats().totalClients, { timeout: 5_000 }).toBe(1);
    app.dropSockets();
    await waitForEvent(page, 'reconnect');
    const events = await trackerEvents(page);
    expect(events.find((e) => e.type === 'reconnect')!.value).toMatch(/^client-/);
    await app.progress.publish('task-r', { progress: 42 });
    await expect
      .poll(async () => page.getByRole('progressbar').getAttribute('aria-valuenow'), { timeout: 5_000 })
      .toBe('42');
    await page.close();
  });

  it('gives up after maxReconnectAttempts and reports a connection error', async () => {
    // A server that accepts TCP and hangs up at once: every attempt fails, and is counted.
    let attempts = 0;
    const refuser = createServer((socket: Socket) => {
      attempts++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => refuser.listen(0, '127.0.0.1', resolve));
    const { port } = refuser.address() as AddressInfo;
    app = await startApp();
    const page = await browser.context.newPage();
    await page.goto(
      `${app.url}/?tasks=task-x&max=2&wsUrl=${encodeURIComponent(`ws://127.0.0.1:${port}/api/v1/ws`)}`,
    );
    await page.waitForFunction(
      () =>
        (window as unknown as { trackerEvents: Array<{ type: string }> }).trackerEvents.some(
          (e) => e.type === 'error',
        ),
      undefined,
      { timeout: 15_000 },
    );
    const errors = (await trackerEvents(page)).filter((e) => e.type === 'error').map((e) => e.value);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^连接错误/);
    expect(attempts).toBe(3);
    await page.close();
    await new Promise((resolve) => refuser.close(resolve));
  }, 30_000);

  it('shares one socket between trackers under a ProgressProvider', async () => {
    app = await startApp();
    const page = await browser.context.newPage();
    const wsUrl = `${app.url.replace('http', 'ws')}/api/v1/ws`;
    await page.goto(`${app.url}/?provider=1&tasks=a,b,c&wsUrl=${encodeURIComponent(wsUrl)}`);
    await expect.poll(() => app!.progress.stats().totalClients, { timeout: 5_000 }).toBe(1);
    await app.progress.publish('a', { progress: 10 });
    await app.progress.publish('b', { progress: 20 });
    await app.progress.publish('c', { progress: 30 });
    await expect
      .poll(
        async () =>
          page
            .getByRole('progressbar')
            .evaluateAll((bars) => bars.map((bar) => bar.getAttribute('aria-valuenow'))),
        { timeout: 5_000 },
      )
      .toEqual(['10', '20', '30']);
    expect(app.progress.stats().totalClients).toBe(1);
    await page.close();
  });
});
