/** `client.history()`: the seed's REST history routes, read with `fetch`. */
import type { ErrorCode } from '../shared/codes.js';
import type { ProgressPayload, StatusPayload, TaskErrorPayload } from '../shared/protocol.js';
import { clientError } from './errors.js';

export interface HistoryOptions {
  /**
   * Most events to return (the server caps it at 1,000).
   * @default the server's: 20 for `memory`, 100 for `database`
   */
  limit?: number;
  /**
   * `memory` reads `GET /progress/:task_id/history`, `database` reads `.../history/db` (the
   * seed's two routes; with one storage they return the same events).
   * @default 'memory'
   */
  source?: 'memory' | 'database';
  /** Only events with `seq` above this, oldest first (otherwise the latest `limit`). */
  afterSeq?: number;
}

/** One stored event: its payload plus `type` and `seq`. */
export type HistoryEntry =
  | (ProgressPayload & { readonly type: 'progress'; readonly seq: number })
  | (StatusPayload & { readonly type: 'status'; readonly seq: number })
  | (TaskErrorPayload & { readonly type: 'error'; readonly seq: number });

export interface HistoryResult {
  readonly taskId: string;
  readonly source: 'memory' | 'database';
  /** Oldest first. */
  readonly history: HistoryEntry[];
}

/**
 * Fetches a task's history.
 * @throws {ClientError} with the server's code (`TASK_NOT_FOUND`, `FORBIDDEN`, ...) on an
 * error answer, `INVALID_PARAMETER` when no REST URL is known, `STORAGE_UNAVAILABLE` when the
 * request fails.
 */
export async function fetchHistory(
  restUrl: string | undefined,
  query: Readonly<Record<string, string | undefined>>,
  taskId: string,
  { limit, source = 'memory', afterSeq }: HistoryOptions = {},
): Promise<HistoryResult> {
  if (restUrl === undefined) {
    throw clientError('INVALID_PARAMETER', 'history() needs restUrl, e.g. "https://host/api/v1".');
  }
  const url = new URL(
    `${restUrl}/progress/${encodeURIComponent(taskId)}/history${source === 'database' ? '/db' : ''}`,
  );
  for (const [name, value] of Object.entries({ ...query, limit, after_seq: afterSeq })) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  const response = await fetch(url).catch((error: unknown) => {
    throw clientError(
      'STORAGE_UNAVAILABLE',
      `Could not reach ${url.origin} for the history of "${taskId}".`,
      error,
    );
  });
  const body = (await response.json().catch(() => ({}))) as {
    code?: ErrorCode;
    error?: string;
    history?: HistoryEntry[];
  };
  if (!response.ok)
    throw clientError(
      body.code ?? 'INTERNAL',
      body.error ?? `History request failed with HTTP ${response.status}.`,
    );
  return { taskId, source, history: body.history ?? [] };
}
