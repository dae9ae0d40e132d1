/** A raw `ws` client for protocol tests: collects parsed messages and awaits them without sleeping. */
import WebSocket from 'ws';

/**
 * A message as received. Protocol tests read arbitrary fields of arbitrary message types, so
 * this is deliberately untyped; the server's own types are tested by the schemas.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type WireMessage = Record<string, any>;

export interface RawClient {
  readonly ws: WebSocket;
  /** Every message received so far, parsed, in order. */
  readonly messages: Array<WireMessage>;
  /** Raw frames received so far. */
  readonly frames: string[];
  send(value: unknown): void;
  /** Resolves with the first message (from `from` on) matching `predicate`. */
  waitFor(predicate: (message: WireMessage) => boolean, timeoutMs?: number): Promise<WireMessage>;
  /** Resolves once `count` messages match `predicate`. */
  waitForCount(
    predicate: (message: WireMessage) => boolean,
    count: number,
    timeoutMs?: number,
  ): Promise<Array<WireMessage>>;
  /** Resolves with the close code. */
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export async function connectRaw(url: string, options: WebSocket.ClientOptions = {}): Promise<RawClient> {
  const ws = new WebSocket(url, options);
  const messages: Array<WireMessage> = [];
  const frames: string[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    const text = data.toString();
    frames.push(text);
    for (const line of text.split('\n')) if (line !== '') messages.push(JSON.parse(line));
    for (const wake of waiters) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });

  const waitForCount: RawClient['waitForCount'] = (predicate, count, timeoutMs = 5_000) =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const matched = messages.filter(predicate);
        if (matched.length >= count) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(matched);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(`timed out waiting for ${count} messages; got ${JSON.stringify(messages.slice(-5))}`),
        );
      }, timeoutMs);
      if (!check()) waiters.add(check);
    });

  return {
    ws,
    messages,
    frames,
    send: (value) => ws.send(typeof value === 'string' ? value : JSON.stringify(value)),
    waitFor: async (predicate, timeoutMs) => (await waitForCount(predicate, 1, timeoutMs))[0]!,
    waitForCount,
    closed,
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await closed;
    },
  };
}

/** Task events (with `seq`) of one task, as received. */
export function seqsOf(client: RawClient, taskId: string): number[] {
  return client.messages
    .filter((m) => m.task_id === taskId && typeof m.seq === 'number' && !m.snapshot)
    .map((m) => m.seq);
}
