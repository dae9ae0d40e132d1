/** `ProgressProvider`: one `ProgressClient` (one socket) shared by every component below it. */
import { createContext, type ReactNode, useContext, useEffect } from 'react';
import type { ProgressClient } from '../client/index.js';

const ProgressContext = createContext<ProgressClient | null>(null);

export interface ProgressProviderProps {
  /**
   * The client, created outside React (module scope or a `useState` initialiser). For
   * server rendering create it with `autoConnect: false`: the provider connects it on mount,
   * in the browser only.
   */
  client: ProgressClient;
  children?: ReactNode;
}

/** Shares one client with every `useTaskProgress` and `RealtimeProgressTracker` below it. */
export function ProgressProvider({ client, children }: ProgressProviderProps): ReactNode {
  useEffect(() => {
    if (client.state === 'idle') client.connect();
  }, [client]);
  return <ProgressContext.Provider value={client}>{children}</ProgressContext.Provider>;
}

/** The provider's client, or `null` outside a provider. */
export function useProgressClient(): ProgressClient | null {
  return useContext(ProgressContext);
}
