/**
 * A page for the browser tests: renders RealtimeProgressTracker as the seed's docs show it,
 * configured from the query string, and records every callback in `window.trackerEvents`.
 */
import { createRoot } from 'react-dom/client';
import { ProgressClient } from '../../../src/client/index.js';
import { ProgressProvider, RealtimeProgressTracker } from '../../../src/react/index.js';
import '../../../src/react/styles.css';

const params = new URLSearchParams(location.search);
const events: Array<{ type: string; value: unknown }> = [];
(window as unknown as { trackerEvents: typeof events }).trackerEvents = events;
const record = (type: string) => (value: unknown) => events.push({ type, value });

const tasks = (params.get('tasks') ?? 'task-001').split(',');
const wsUrl = params.get('wsUrl') ?? undefined;
const trackers = tasks.map((taskId) => (
  <RealtimeProgressTracker
    key={taskId}
    taskId={taskId}
    userId="user-123"
    projectId="project-456"
    {...(wsUrl === undefined ? {} : { wsUrl })}
    {...(params.has('max') ? { maxReconnectAttempts: Number(params.get('max')) } : {})}
    showHistory={params.get('history') === '1'}
    onProgress={record('progress')}
    onComplete={record('complete')}
    onError={record('error')}
    onReconnect={record('reconnect')}
  />
));

const root = createRoot(document.getElementById('root')!);
if (params.get('provider') === '1') {
  const client = new ProgressClient({
    url: wsUrl!,
    userId: 'user-123',
    autoConnect: false,
    backoff: { initialDelayMs: 50 },
  });
  root.render(<ProgressProvider client={client}>{trackers}</ProgressProvider>);
} else {
  root.render(trackers);
}
