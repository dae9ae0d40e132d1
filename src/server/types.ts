/** Types shared by the server's modules and its public options. */

/** Who a connection or request belongs to. `authenticate` returns it; `authorize` receives it. */
export interface Identity {
  /** The user; sessions resume only for the same `userId`. At most 100 characters. */
  readonly userId: string;
  /** The project, `''` when none. At most 100 characters. */
  readonly projectId: string;
}

/**
 * The request `authenticate` sees: the WebSocket upgrade request or a REST request, in one
 * shape. `headers` are WHATWG `Headers` (`req.headers.get('cookie')`), `url` is absolute.
 * Both may be built on first read (getters, so an upgrade that needs neither pays for
 * neither): read or destructure them, do not copy the object with a spread.
 */
export interface AuthRequest {
  readonly url: URL;
  readonly headers: Headers;
  /** The peer address, `''` when unknown (the fetch adapter does not know it). */
  readonly ip: string;
  /** `websocket` for an upgrade, `http` for a REST call. */
  readonly kind: 'websocket' | 'http';
}

/**
 * Decides who is calling. Return `null` to refuse (HTTP 401 before the upgrade; REST 401).
 * A throw is logged and treated as a refusal.
 */
export type Authenticate = (request: AuthRequest) => Identity | null | Promise<Identity | null>;

/**
 * Decides whether `identity` may follow `taskId` (subscribe, history, snapshot).
 * `false` (or a throw, which is logged) refuses with `FORBIDDEN`; the connection stays up.
 */
export type Authorize = (identity: Identity, taskId: string) => boolean | Promise<boolean>;

/**
 * A structured logger; pino's and console's methods both fit (`logger.info(fields, message)`).
 * Client-supplied strings in `fields` are escaped before they are logged.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  /**
   * pino's: whether `level` would be written. When present, the per-connection `info` and
   * `debug` lines are built only if it says yes (building their fields costs per connection).
   */
  isLevelEnabled?(level: 'debug' | 'info'): boolean;
}

/** The seed's `GET /websocket/stats` (and `/progress/active`) numbers. */
export interface ConnectionStats {
  readonly totalClients: number;
  readonly byUser: Readonly<Record<string, number>>;
  readonly byProject: Readonly<Record<string, number>>;
}

/** What the REST layer needs from the WebSocket side. */
export interface ClientRegistry {
  stats(): ConnectionStats;
  /** The whole cluster's numbers (presence); absent or without presence, this process's. */
  clusterStats?(): Promise<ConnectionStats>;
  /** The identity of a client connected to this server, `undefined` if none is. */
  identityOf(clientId: string): Identity | undefined;
  /** Subscribes a connected client to a task; `false` when the client is not connected here. */
  subscribe(clientId: string, taskId: string): Promise<boolean>;
  /** `false` when the client is not connected here. */
  unsubscribe(clientId: string, taskId: string): Promise<boolean>;
}
