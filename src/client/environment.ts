/**
 * Browser signals that speed up recovery: `online`, the page becoming visible again, and
 * `pagehide` (the last moment to persist before a reload). Where they do not exist (Node,
 * workers without a document) nothing is watched. Nothing is touched at import time.
 */

export interface EnvironmentHandlers {
  /** The browser says the network is back. */
  online(): void;
  /** The page is visible again after being hidden for `hiddenMs`. */
  visible(hiddenMs: number): void;
  /** The page is being unloaded or put in the back/forward cache. */
  pagehide(): void;
}

/** Starts watching; returns the function that stops. */
export function watchEnvironment(handlers: EnvironmentHandlers): () => void {
  const scope = globalThis as Partial<Window & typeof globalThis>;
  const doc = scope.document;
  let hiddenAtMs = Date.now();
  const online = (): void => handlers.online();
  const pagehide = (): void => handlers.pagehide();
  const visibility = (): void => {
    if (doc?.visibilityState === 'hidden') hiddenAtMs = Date.now();
    else handlers.visible(Date.now() - hiddenAtMs);
  };
  scope.addEventListener?.('online', online);
  scope.addEventListener?.('pagehide', pagehide);
  doc?.addEventListener('visibilitychange', visibility);
  return () => {
    scope.removeEventListener?.('online', online);
    scope.removeEventListener?.('pagehide', pagehide);
    doc?.removeEventListener('visibilitychange', visibility);
  };
}
