/**
 * The seed's REST routes as one explicit table, with their handlers. Each handler gets a
 * request that is already authenticated (and, on task routes, authorized) and returns the
 * seed's exact JSON body, plus the documented extension fields (`seq`, `type`).
 */
import type { StorageAdapter, StoredTaskEvent } from '../../adapters/storage/types.js';
import type { AuthHooks } from '../auth.js';
import type { ClientRegistry, Identity, Logger } from '../types.js';
import { HttpError, MAX_HISTORY_LIMIT, readCount, readRequired } from './params.js';
import { jsonResponse, quote } from './responses.js';

/** What the HTTP core needs from the rest of the server. */
export interface HttpApiDeps {
  /** Prefix of every route, without a trailing slash, e.g. `'/api/v1'`. */
  basePath: string;
  storage: StorageAdapter;
  /** The WebSocket side: connection stats and REST-driven subscribe/unsubscribe. */
  clients: ClientRegistry;
  /** `auth.custom === true` means the host configured `authenticate`. */
  auth: AuthHooks;
  logger: Logger;
}

/** Methods a route can implement; HEAD and OPTIONS are derived by the core. */
export type RouteMethod = 'GET' | 'POST' | 'DELETE';

export interface RouteContext {
  readonly url: URL;
  readonly identity: Identity;
  /** The decoded, validated and authorized task id; `''` on routes without `:task_id`. */
  readonly taskId: string;
  readonly deps: HttpApiDeps;
}

export interface Route {
  /** Path segments after the base path; `':task_id'` captures one segment. */
  readonly pattern: readonly string[];
  readonly handlers: Partial<Record<RouteMethod, (ctx: RouteContext) => Promise<Response>>>;
}

/** Seed default of `GET /progress/:task_id/history`. */
const MEMORY_HISTORY_LIMIT = 20;
/** Seed default of `GET /progress/:task_id/history/db`. */
const DATABASE_HISTORY_LIMIT = 100;

const historyEntry = (event: StoredTaskEvent) => ({ ...event.payload, type: event.type, seq: event.seq });

function history(source: 'memory' | 'database', defaultLimit: number) {
  return async ({ url, taskId, deps }: RouteContext): Promise<Response> => {
    const limit = readCount(url, 'limit', MAX_HISTORY_LIMIT) ?? defaultLimit;
    const afterSeq = readCount(url, 'after_seq');
    const events = await deps.storage.getHistory(
      taskId,
      afterSeq === undefined ? { limit } : { limit, afterSeq },
    );
    return jsonResponse(200, { task_id: taskId, source, history: events.map(historyEntry) });
  };
}

function subscription(action: 'subscribe' | 'unsubscribe', message: string) {
  return async ({ url, identity, taskId, deps }: RouteContext): Promise<Response> => {
    const clientId = readRequired(
      url,
      'client_id',
      `pass the id from the "connected" message as ?client_id=`,
    );
    // With real authentication, another user's client answers exactly like a missing one, so
    // the endpoint cannot be used to probe or steer other people's connections.
    const foreign = deps.auth.custom && deps.clients.identityOf(clientId)?.userId !== identity.userId;
    if (foreign || !(await deps.clients[action](clientId, taskId))) {
      throw new HttpError('CLIENT_NOT_FOUND', `Client ${quote(clientId)} is not connected to this server.`);
    }
    return jsonResponse(200, { message, task_id: taskId, client_id: clientId });
  };
}

/**
 * First match wins, so the literal `stats` and `active` routes shadow a task of that name on
 * `GET /progress/:task_id` only; such a task is still reachable as `/progress/%73tats`.
 */
export const ROUTES: readonly Route[] = [
  {
    pattern: ['progress', 'stats'],
    handlers: {
      GET: async ({ deps }) => {
        const stats = await deps.storage.getStats();
        return jsonResponse(200, {
          total_tasks: stats.totalTasks,
          active_tasks: stats.activeTasks,
          completed_tasks: stats.completedTasks,
          failed_tasks: stats.failedTasks,
        });
      },
    },
  },
  {
    pattern: ['progress', 'active'],
    handlers: {
      GET: async ({ deps }) => {
        const { totalClients, byUser, byProject } = await (deps.clients.clusterStats?.() ??
          deps.clients.stats());
        return jsonResponse(200, { connected_clients: totalClients, by_user: byUser, by_project: byProject });
      },
    },
  },
  {
    pattern: ['websocket', 'stats'],
    handlers: {
      GET: async ({ deps }) => {
        const { totalClients, byUser, byProject } = await (deps.clients.clusterStats?.() ??
          deps.clients.stats());
        return jsonResponse(200, { total_clients: totalClients, by_user: byUser, by_project: byProject });
      },
    },
  },
  {
    pattern: ['progress', ':task_id'],
    handlers: {
      GET: async ({ taskId, deps }) => {
        const snapshot = await deps.storage.getSnapshot(taskId);
        if (snapshot === null) throw new HttpError('TASK_NOT_FOUND', `Task ${quote(taskId)} not found.`);
        return jsonResponse(200, { ...snapshot.state, seq: snapshot.seq });
      },
    },
  },
  {
    pattern: ['progress', ':task_id', 'history'],
    handlers: {
      GET: history('memory', MEMORY_HISTORY_LIMIT),
      DELETE: async ({ taskId, deps }) => {
        await deps.storage.clearHistory(taskId);
        return jsonResponse(200, { message: '历史已清除', task_id: taskId });
      },
    },
  },
  {
    pattern: ['progress', ':task_id', 'history', 'db'],
    handlers: { GET: history('database', DATABASE_HISTORY_LIMIT) },
  },
  {
    pattern: ['progress', ':task_id', 'subscribe'],
    handlers: { POST: subscription('subscribe', '订阅成功') },
  },
  {
    pattern: ['progress', ':task_id', 'unsubscribe'],
    handlers: { POST: subscription('unsubscribe', '取消订阅成功') },
  },
];

/** The route owning `segments` (raw, still percent-encoded) and its raw `:task_id`, if any. */
export function matchRoute(
  segments: readonly string[],
): { route: Route; rawTaskId: string | undefined } | undefined {
  for (const route of ROUTES) {
    if (route.pattern.length !== segments.length) continue;
    let rawTaskId: string | undefined;
    const matches = route.pattern.every((part, i) => {
      if (part !== ':task_id') return part === segments[i];
      rawTaskId = segments[i];
      return true;
    });
    if (matches) return { route, rawTaskId };
  }
  return undefined;
}
