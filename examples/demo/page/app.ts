/**
 * The demo page: one ProgressClient for every task on the page (one socket), a card per task,
 * the connection state and a reconnect counter. Task ids live in the demo server's registry;
 * the client keeps its session across reloads (`persist: 'session'`).
 */
import { ProgressClient, type TaskState } from '../../../src/client/index.js';

interface DemoTask {
  task_id: string;
  title: string;
  created_at: string;
}

const $ = <T extends Element>(selector: string, root: ParentNode = document): T =>
  root.querySelector(selector) as T;
const list = $<HTMLUListElement>('[data-testid="tasks"]');
const template = $<HTMLTemplateElement>('#task-template');
const connection = $<HTMLElement>('[data-testid="connection"]');
const connectionLabel = $<HTMLElement>('[data-testid="connection-label"]');
const reconnectsLabel = $<HTMLElement>('[data-testid="reconnects"]');
const summary = $<HTMLElement>('[data-testid="summary"]');
const empty = $<HTMLElement>('[data-testid="empty"]');

const client = new ProgressClient({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws`,
  userId: 'demo-user',
  projectId: 'render-farm',
  persist: 'session',
  backoff: { initialDelayMs: 500, maxDelayMs: 5_000 },
  heartbeatIntervalMs: 10_000,
  heartbeatTimeoutMs: 5_000,
});

const cards = new Map<string, { root: HTMLLIElement; task: DemoTask; startedAtMs: number }>();
let reconnects = 0;
let retryAtMs: number | undefined;

// --- connection state -------------------------------------------------------------------

function renderConnection(): void {
  const state = client.state;
  connection.dataset.state = state;
  if (state === 'open') connectionLabel.textContent = 'Connected';
  else if (state === 'reconnecting' && retryAtMs !== undefined) {
    const seconds = Math.max(0, Math.ceil((retryAtMs - Date.now()) / 1000));
    connectionLabel.textContent = seconds > 0 ? `Reconnecting in ${seconds} s` : 'Reconnecting…';
  } else if (state === 'connecting')
    connectionLabel.textContent = reconnects > 0 || retryAtMs !== undefined ? 'Reconnecting…' : 'Connecting…';
  else if (state === 'closed') connectionLabel.textContent = 'Offline';
  else connectionLabel.textContent = 'Connecting…';
  reconnectsLabel.textContent = `${reconnects} reconnect${reconnects === 1 ? '' : 's'}`;
}

client.on('state', renderConnection);
client.on('reconnecting', ({ delayMs }) => {
  retryAtMs = Date.now() + delayMs;
  renderConnection();
});
client.on('reconnected', () => {
  reconnects++;
  retryAtMs = undefined;
  renderConnection();
});
setInterval(renderConnection, 500);

// --- task cards ---------------------------------------------------------------------------

const formatDuration = (ms: number): string => {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds < 60
    ? `${seconds}s`
    : `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
};

function renderTask(taskId: string, state: TaskState | undefined): void {
  const card = cards.get(taskId);
  if (card === undefined || state === undefined) return;
  const { root } = card;
  const latest = state.latest;
  const progress = latest?.progress ?? 0;
  const status = state.status ?? 'pending';
  root.dataset.status = status;
  const statusEl = $<HTMLElement>('.status', root);
  statusEl.textContent = status;
  statusEl.dataset.status = status;
  const bar = $<HTMLElement>('.bar', root);
  bar.setAttribute('aria-valuenow', String(progress));
  $<HTMLElement>('.fill', root).style.width = `${progress}%`;
  $<HTMLElement>('.percent', root).textContent = `${progress}%`;
  const steps =
    latest !== undefined && latest.total_steps > 0
      ? ` · step ${latest.completed_steps}/${latest.total_steps}`
      : '';
  $<HTMLElement>('.step', root).textContent = `${latest?.current_step ?? 'Queued'}${steps}`;
  $<HTMLElement>('.message', root).textContent = latest?.message ?? '';
  const error = state.status === 'failed' ? state.error : (state.lastError?.error ?? '');
  const errorEl = $<HTMLElement>('.error', root);
  errorEl.hidden = error === '';
  errorEl.textContent = error;
  $<HTMLElement>('.recovery', root).hidden = state.recovered;
  $<HTMLButtonElement>('[data-action="cancel"]', root).disabled =
    status !== 'running' && status !== 'pending';
  renderTimes(taskId);
  renderSummary();
}

function renderTimes(taskId: string): void {
  const card = cards.get(taskId);
  const state = client.task(taskId);
  if (card === undefined) return;
  const finished =
    state?.status === 'completed' || state?.status === 'failed' || state?.status === 'cancelled';
  const endMs = finished && state?.latest ? Date.parse(state.latest.timestamp) : Date.now();
  const elapsed = endMs - card.startedAtMs;
  $<HTMLElement>('.elapsed', card.root).textContent = `elapsed ${formatDuration(elapsed)}`;
  const progress = state?.latest?.progress ?? 0;
  const eta = !finished && progress > 0 ? (elapsed * (100 - progress)) / progress : undefined;
  $<HTMLElement>('.eta', card.root).textContent = eta === undefined ? '' : `ETA ${formatDuration(eta)}`;
}

function renderSummary(): void {
  const counts = { running: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const taskId of cards.keys()) {
    const status = client.task(taskId)?.status;
    if (status === 'running' || status === 'pending') counts.running++;
    else if (status !== undefined) counts[status]++;
  }
  summary.textContent = `${counts.running} running · ${counts.completed} completed · ${counts.failed} failed · ${counts.cancelled} cancelled`;
  empty.hidden = cards.size > 0;
}

function addTask(task: DemoTask, prepend: boolean): void {
  if (cards.has(task.task_id)) return;
  const root = template.content.firstElementChild!.cloneNode(true) as HTMLLIElement;
  root.dataset.taskId = task.task_id;
  $<HTMLElement>('.title', root).textContent = task.title;
  $<HTMLElement>('.task-id', root).textContent = task.task_id;
  if (prepend) list.prepend(root);
  else list.append(root);
  cards.set(task.task_id, { root, task, startedAtMs: Date.parse(task.created_at) });
  const subscription = client.subscribe(task.task_id);
  renderTask(task.task_id, subscription.state);
}

/** The seq of every task event (and snapshot) the app received, in order: the browser tests check order and gaps. */
const received: Record<string, number[]> = {};
(globalThis as { realtimeProgressDemo?: unknown }).realtimeProgressDemo = { client, received };
const record = (taskId: string, seq: number): void => {
  const seqs = received[taskId] ?? [];
  seqs.push(seq);
  received[taskId] = seqs;
};

client.on('progress', ({ taskId, seq, state }) => {
  // A snapshot (the latest state on subscribe) stands for every event up to its seq.
  record(taskId, seq);
  renderTask(taskId, state);
});
client.on('status', ({ taskId, seq, state }) => {
  record(taskId, seq);
  renderTask(taskId, state);
});
client.on('error', (event) => {
  if (event.source === 'task') {
    record(event.taskId, event.seq);
    renderTask(event.taskId, event.state);
  } else if (event.source === 'server')
    console.warn(`server refused ${event.taskId}: ${event.code} ${event.message}`);
  else console.warn(`connection attempt failed: ${event.code} ${event.message}`);
});
client.on('recovery', ({ taskId, state }) => renderTask(taskId, state));
setInterval(() => {
  for (const taskId of cards.keys()) renderTimes(taskId);
}, 1_000);

async function toggleHistory(taskId: string, button: HTMLButtonElement): Promise<void> {
  const card = cards.get(taskId);
  if (card === undefined) return;
  const history = $<HTMLOListElement>('.history', card.root);
  const open = history.hidden;
  history.hidden = !open;
  button.setAttribute('aria-expanded', String(open));
  button.textContent = open ? 'Hide history' : 'History';
  if (!open) return;
  history.textContent = 'Loading…';
  try {
    const result = await client.history(taskId, { source: 'database', limit: 100 });
    history.textContent = '';
    for (const entry of result.history) {
      const item = document.createElement('li');
      const seq = document.createElement('span');
      seq.className = 'seq';
      seq.textContent = `#${entry.seq}`;
      const text =
        entry.type === 'progress'
          ? ` ${entry.progress}% · ${entry.current_step}`
          : entry.type === 'status'
            ? ` status → ${entry.status}${entry.error ? ` (${entry.error})` : ''}`
            : ` error at ${entry.step_id}: ${entry.error}`;
      item.append(seq, `${text} · ${new Date(entry.timestamp).toLocaleTimeString()}`);
      history.append(item);
    }
  } catch (error) {
    history.textContent = `Could not load history: ${(error as Error).message}`;
  }
}

// --- actions ------------------------------------------------------------------------------

async function post(path: string): Promise<{ tasks?: DemoTask[] }> {
  const response = await fetch(path, { method: 'POST' });
  return (await response.json()) as { tasks?: DemoTask[] };
}

document.addEventListener('click', (event) => {
  const button = (event.target as Element).closest<HTMLButtonElement>('button[data-action]');
  if (button === null) return;
  const taskId = button.closest<HTMLElement>('.task')?.dataset.taskId;
  switch (button.dataset.action) {
    case 'start':
    case 'start-ten':
      void post(`/demo/tasks?count=${button.dataset.action === 'start' ? 1 : 10}`).then(({ tasks = [] }) => {
        for (const task of tasks) addTask(task, true);
      });
      break;
    case 'drop':
      void post('/demo/drop');
      break;
    case 'cancel':
      if (taskId !== undefined) void post(`/demo/tasks/${encodeURIComponent(taskId)}/cancel`);
      break;
    case 'history':
      if (taskId !== undefined) void toggleHistory(taskId, button);
      break;
  }
});

const loaded = (await (await fetch('/demo/tasks')).json()) as { tasks: DemoTask[] };
for (const task of loaded.tasks) addTask(task, false);
renderConnection();
renderSummary();
