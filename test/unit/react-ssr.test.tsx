import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { ProgressClient } from '../../src/client/index.js';
import { ProgressProvider, RealtimeProgressTracker, useTaskProgress } from '../../src/react/index.js';

/** A WebSocket constructor that fails the test if anything tries to open a socket. */
class NoSocket {
  constructor() {
    throw new Error('a server render must not open a socket');
  }
}

function View() {
  const { progress, status, connectionState } = useTaskProgress('task-001');
  return <p>{`${progress}|${status ?? 'none'}|${connectionState}`}</p>;
}

describe('server rendering', () => {
  it('renders RealtimeProgressTracker without a provider, a socket or window', () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    const html = renderToString(<RealtimeProgressTracker taskId="task-001" showHistory />);
    expect(html).toContain('role="progressbar"');
    expect(html).toContain('aria-valuenow="0"');
    expect(html).toContain('Waiting');
  });

  it('renders under a provider whose client has not connected', () => {
    const client = new ProgressClient({
      url: 'ws://127.0.0.1:1/api/v1/ws',
      autoConnect: false,
      WebSocket: NoSocket as never,
    });
    const html = renderToString(
      <ProgressProvider client={client}>
        <View />
      </ProgressProvider>,
    );
    expect(html).toBe('<p>0|none|idle</p>');
    expect(client.state).toBe('idle');
  });
});
