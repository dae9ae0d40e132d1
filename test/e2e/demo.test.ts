/**
 * The demo in real Chromium: a task runs to completed, its history expands, and the page
 * survives the server process being killed and restarted on the same SQLite file and port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../../examples/demo/server.js';
import { type Browser, launchBrowser } from './browser.js';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

let browser: Browser;
let dataDir: string;
beforeAll(async () => {
  browser = await launchBrowser();
  dataDir = mkdtempSync(join(tmpdir(), 'rp-demo-e2e-'));
});
afterAll(async () => {
  await browser?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Console errors of the page, except the browser's own reports of refused connections during an outage. */
function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    if (
      /^WebSocket connection to .* failed/.test(text) ||
      /Failed to load resource: net::ERR_CONNECTION_REFUSED/.test(text)
    )
      return;
    errors.push(text);
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

/** `from, from + 1, ..., to`. */
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

const receivedSeqs = (page: Page, taskId: string) =>
  page.evaluate(
    (id) =>
      (globalThis as unknown as { realtimeProgressDemo: { received: Record<string, number[]> } })
        .realtimeProgressDemo.received[id] ?? [],
    taskId,
  );

describe('the demo page', () => {
  let demo: RunningDemo | undefined;
  afterEach(async () => {
    await demo?.close();
    demo = undefined;
  });

  it('runs a task to completed, with a full bar and an expandable history', async () => {
    demo = await startDemo({
      port: 0,
      sqliteFile: join(dataDir, 'basic.sqlite'),
      stepMs: 40,
      failureRate: 0,
    });
    const page = await browser.context.newPage();
    const errors = watchConsole(page);
    await page.goto(demo.url);
    await page.getByTestId('connection-label').filter({ hasText: 'Connected' }).waitFor();
    await page.getByTestId('start-task').click();
    const task = page.getByTestId('task').first();
    await task.getByTestId('status').filter({ hasText: 'completed' }).waitFor({ timeout: 10_000 });
    expect(await task.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    expect(await task.getByTestId('percent').textContent()).toBe('100%');
    const taskId = (await task.getAttribute('data-task-id'))!;
    const seqs = await receivedSeqs(page, taskId);
    const lastSeq = seqs.at(-1)!;
    // The first message may be a snapshot standing for the events published before the page subscribed.
    expect(seqs).toEqual(range(seqs[0]!, lastSeq));
    await task.getByTestId('history-toggle').click();
    const history = task.getByTestId('history');
    await history
      .locator('li')
      .nth(lastSeq - 1)
      .waitFor();
    expect(await history.locator('li').count()).toBe(lastSeq);
    expect(await history.locator('li').last().textContent()).toContain('status → completed');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-completed.png') });
    const metrics = await (await fetch(`${demo.url}/metrics`)).text();
    expect(metrics).toContain('realtime_progress_connected_clients 1');
    expect(metrics).toMatch(/realtime_progress_events_published_total [1-9]/);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('the demo across a server crash', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  const freePort = () =>
    new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });

  /** Starts the demo in its own process and resolves once it listens. */
  const spawnDemo = (port: number, sqliteFile: string) =>
    new Promise<ChildProcess>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, '../../examples/demo/server.ts')],
        {
          env: {
            ...process.env,
            PORT: String(port),
            DEMO_SQLITE_FILE: sqliteFile,
            DEMO_STEP_MS: '250',
            DEMO_FAILURE_RATE: '0',
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      children.push(child);
      const timer = setTimeout(() => reject(new Error('demo did not start within 20 s')), 20_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('open http')) {
          clearTimeout(timer);
          resolve(child);
        }
      });
      child.once('exit', (code) => reject(new Error(`demo exited with ${code}`)));
    });

  it('shows reconnecting while the server is down, then resumes and shows every event in order', async () => {
    const port = await freePort();
    const sqliteFile = join(dataDir, 'crash.sqlite');
    const first = await spawnDemo(port, sqliteFile);
    const page = await browser.context.newPage();
    const errors = watchConsole(page);
    await page.goto(`http://127.0.0.1:${port}`);
    await page.getByTestId('connection-label').filter({ hasText: 'Connected' }).waitFor();
    await page.getByTestId('start-task').click();
    const task = page.getByTestId('task').first();
    const taskId = (await task.getAttribute('data-task-id', { timeout: 5_000 }))!;
    await page.waitForFunction(
      (id) =>
        ((globalThis as unknown as { realtimeProgressDemo: { received: Record<string, number[]> } })
          .realtimeProgressDemo.received[id]?.length ?? 0) >= 4,
      taskId,
    );

    first.kill('SIGKILL');
    await page
      .getByTestId('connection-label')
      .filter({ hasText: /Reconnecting/ })
      .waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-reconnecting.png') });

    await spawnDemo(port, sqliteFile);
    await page.getByTestId('connection-label').filter({ hasText: 'Connected' }).waitFor({ timeout: 15_000 });
    await task.getByTestId('status').filter({ hasText: 'completed' }).waitFor({ timeout: 20_000 });
    const seqs = await receivedSeqs(page, taskId);
    expect(seqs).toEqual(range(seqs[0]!, seqs.at(-1)!));
    expect(seqs.length).toBeGreaterThan(6);
    expect(await task.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    expect(
      Number((await page.getByTestId('reconnects').textContent())!.split(' ')[0]),
    ).toBeGreaterThanOrEqual(1);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-after-restart.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
