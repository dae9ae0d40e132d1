/**
 * What survives a page reload with `persist`: the client id (to resume the server session)
 * and, per subscribed task, its state and last `seq` (to ask for `since` and to show the
 * task at once, before the socket is open). Stored as one JSON value per url and identity.
 */
import type { TaskState } from './task-state.js';

/** The part of the Web Storage API the client uses (`sessionStorage`, `localStorage`, or your own). */
export interface PersistStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** A task as persisted: its state, and whether the server had acknowledged it (then it resumes with `since`). */
export interface PersistedTask {
  readonly state: TaskState;
  readonly confirmed: boolean;
}

export interface PersistedSession {
  readonly clientId: string | undefined;
  readonly savedAtMs: number;
  readonly tasks: Readonly<Record<string, PersistedTask>>;
}

export const persistKey = (url: string, userId = '', projectId = ''): string =>
  `realtime-progress:${url}|${userId}|${projectId}`;

/** The stored session, unless it is missing, unreadable or older than `ttlMs`. Never throws. */
export function loadSession(
  storage: PersistStorage,
  key: string,
  ttlMs: number,
): PersistedSession | undefined {
  try {
    const session = JSON.parse(storage.getItem(key) ?? 'null') as PersistedSession | null;
    // Only this client writes the key, so its shape is trusted; its age is not.
    return session !== null && Date.now() - session.savedAtMs <= ttlMs ? session : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the session; a full or blocked storage only costs the resume after a reload. */
export function saveSession(storage: PersistStorage, key: string, session: PersistedSession): void {
  try {
    storage.setItem(key, JSON.stringify(session));
  } catch {
    // Quota exceeded or storage disabled: nothing else to do.
  }
}
