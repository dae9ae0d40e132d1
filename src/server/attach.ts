/**
 * The one file that imports `ws`: attaches to the host's `http.Server` 'upgrade' event,
 * authenticates the upgrade, hands the hub `ws` sockets that also write pre-framed bytes, and
 * drops peers that stop answering protocol pings.
 */
import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { CloseCode, ERROR_CODE_INFO, type ErrorCode } from '../shared/codes.js';
import { LIMITS } from '../shared/protocol.js';
import { createAdmission } from './admission.js';
import { type AuthHooks, NodeAuthRequest, requestPath } from './auth.js';
import type { Connection, ServerSocket } from './connection.js';
import type { Hub, OpenRequest, PreparedResume } from './hub.js';
import type { ResolvedServerOptions } from './options.js';
import type { Logger } from './types.js';

export interface AttachDeps {
  readonly hub: Hub;
  readonly auth: AuthHooks;
  readonly logger: Logger;
  readonly options: ResolvedServerOptions;
}

export interface Attachment {
  /**
   * Refuses new upgrades (503), closes every socket (1001, or 1012 spread over `drainMs`),
   * waits (bounded) for them, then leaves the host's server.
   */
  close(drainMs?: number): Promise<void>;
}

/** Sockets pinged per turn of the event loop in a heartbeat round (each ping is a write). */
const PINGS_PER_TURN = 100;

/** How long `close()` waits for clients to finish the close handshake before cutting them. */
const CLOSE_GRACE_MS = 1_000;

/**
 * A `ws` socket that is also the hub's `ServerSocket` and knows its connection, so the
 * listeners below are shared by all sockets (no closures per connection).
 */
class ProgressSocket extends WebSocket implements ServerSocket {
  /** Set once the hub accepted the socket. */
  connection: Connection | undefined;
  /** Waiting for the answer to a heartbeat ping. */
  awaitingPong = false;

  /**
   * ws has no public call for pre-framed bytes; without permessage-deflate its own `send()`
   * does exactly this write (header and payload to the TCP socket).
   */
  sendWire(wire: Uint8Array): void {
    if (this.readyState === WebSocket.OPEN) (this as unknown as { _socket: Duplex })._socket.write(wire);
  }
}

export function attachWebSocketServer(httpServer: Server, deps: AttachDeps): Attachment {
  const { hub, auth, logger, options } = deps;
  const paths = new Set([options.path, `${options.path}/reconnect`]);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.limits.maxFrameBytes,
    perMessageDeflate: false,
    WebSocket: ProgressSocket,
  });
  const admission = createAdmission(options, auth.custom);
  let closing = false;

  // Listeners shared by every socket: `this` is the socket that emitted.
  function onMessage(this: WebSocket, data: RawData): void {
    const { connection } = this as ProgressSocket;
    if (connection !== undefined) hub.receive(connection, data.toString());
  }
  function onPong(this: WebSocket): void {
    (this as ProgressSocket).awaitingPong = false;
  }
  function onError(error: Error): void {
    logger.debug({ err: error }, 'WebSocket error');
  }
  function onClose(this: WebSocket): void {
    const { connection } = this as ProgressSocket;
    if (connection === undefined) return;
    admission.closed(connection.info.ip, connection.identity.userId);
    hub.closed(connection);
  }

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!paths.has(requestPath(req))) {
      // Another listener (a second ws server, Vite's HMR) may own this path; if none does, refuse.
      if (httpServer.listenerCount('upgrade') === 1)
        refuse(socket, 'NOT_FOUND', 'No WebSocket endpoint at this path.');
      return;
    }
    if (closing) refuse(socket, 'CLOSED', 'The server is shutting down.');
    else void upgrade(req, socket, head);
  };

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const request = new NodeAuthRequest(req, 'websocket');
    const identity = await auth.authenticate(request);
    const origin = req.headers.origin;
    if (identity === null) {
      // A browser cannot read the status of a refused upgrade and would retry forever; it
      // gets a socket closed with 4001, which its client treats as final. Others get HTTP 401.
      if (origin !== undefined && !closing) {
        wss.handleUpgrade(req, socket, head, (ws) => ws.close(CloseCode.Unauthenticated, 'unauthenticated'));
        return;
      }
      return refuse(socket, 'UNAUTHENTICATED', 'Authentication failed.');
    }
    const refusal = admission.check(origin, request, identity);
    if (refusal !== undefined) return refuse(socket, refusal.code, refusal.message);
    const oldClientId = request.query.get('old_client_id')?.slice(0, LIMITS.userIdChars) || undefined;
    let resume: PreparedResume | null = null;
    try {
      resume = await hub.prepareResume(oldClientId, identity);
    } catch (error) {
      logger.error({ err: error }, 'session lookup failed; the client gets a new session');
    }
    if (socket.destroyed || closing) return;
    const open: OpenRequest = {
      identity,
      oldClientId,
      resume,
      batch: request.query.get('batch') === '1',
      ip: request.ip,
      userAgent: req.headers['user-agent'] ?? '',
    };
    // The 101 answer and the greeting leave in one write (ws completes the upgrade synchronously).
    socket.cork();
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws as ProgressSocket, open));
    socket.uncork();
  };

  const accept = (ws: ProgressSocket, open: OpenRequest): void => {
    admission.opened(open.ip, open.identity.userId);
    ws.connection = hub.open(ws, open);
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('error', onError);
    ws.on('close', onClose);
  };

  httpServer.on('upgrade', onUpgrade);

  /**
   * One heartbeat round over `sockets`, `PINGS_PER_TURN` of them per turn of the event loop: a
   * ping is a write, and ten thousand of them in one go would hold every event for their whole
   * duration.
   */
  const pingFrom = (sockets: readonly ProgressSocket[], start: number): void => {
    if (closing) return;
    const end = Math.min(start + PINGS_PER_TURN, sockets.length);
    for (let index = start; index < end; index++) {
      const ws = sockets[index]!;
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (ws.awaitingPong) {
        ws.terminate();
        continue;
      }
      ws.awaitingPong = true;
      ws.ping();
    }
    if (end < sockets.length) setImmediate(pingFrom, sockets, end);
  };
  const heartbeat =
    options.heartbeat.intervalMs > 0
      ? setInterval(
          () => pingFrom([...(wss.clients as Set<ProgressSocket>)], 0),
          options.heartbeat.intervalMs,
        ).unref()
      : undefined;

  return {
    async close(drainMs = 0) {
      closing = true;
      if (heartbeat !== undefined) clearInterval(heartbeat);
      await hub.close(drainMs);
      httpServer.off('upgrade', onUpgrade);
      await Promise.all([...wss.clients].map((ws) => closedWithin(ws, CLOSE_GRACE_MS)));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function closedWithin(ws: WebSocket, graceMs: number): Promise<void> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, graceMs);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Answers an upgrade with a plain HTTP error and a JSON body, then drops the socket. */
function refuse(socket: Duplex, code: ErrorCode, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: message, code });
  const status = ERROR_CODE_INFO[code].httpStatus;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
