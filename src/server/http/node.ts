/**
 * The node:http adapter: converts an `IncomingMessage` into a `Request`, asks the core, and
 * writes the `Response` out. Works as a plain request listener and as connect/express
 * middleware (paths the core does not own go to `next()`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpApi } from './api.js';
import { errorResponse, notFoundResponse } from './responses.js';

/** A node:http listener that is also connect/express middleware. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/**
 * Serves the REST API on node:http. With `next` (connect, express) a path no route owns is
 * handed on untouched, its body unread; without it that path answers a JSON 404.
 * The request body is never read: no route takes one, and leaving it unread keeps it intact
 * for the host's own handlers. A declared `content-length` over 64 KiB answers 413.
 * The peer address given to `authenticate` is the socket's (`req.socket.remoteAddress`).
 * @example
 * http.createServer(server.nodeHandler)      // node:http
 * app.use(server.nodeHandler)                // express / connect, anywhere in the chain
 */
export function createNodeHandler(api: HttpApi): NodeHandler {
  return (req, res, next) => {
    serve(api, req, res, next).catch((error: unknown) => {
      // serve() only fails if writing the response failed; the socket is then unusable.
      if (!res.headersSent)
        void send(res, errorResponse('INTERNAL', 'Internal server error.')).catch(() => {});
      else res.destroy(error instanceof Error ? error : undefined);
    });
  };
}

async function serve(
  api: HttpApi,
  req: IncomingMessage,
  res: ServerResponse,
  next?: (err?: unknown) => void,
) {
  const request = toRequest(req);
  const response =
    request === undefined ? undefined : await api.handle(request, req.socket.remoteAddress ?? '');
  if (response !== undefined) return send(res, response);
  if (next !== undefined) return next();
  return send(
    res,
    request === undefined
      ? errorResponse('NOT_FOUND', 'No route for this request.')
      : notFoundResponse(request),
  );
}

/**
 * The `Request` for `req`, or `undefined` when none can be built (a method fetch forbids,
 * such as TRACE, or a header value `Headers` rejects); such a request is not ours.
 */
function toRequest(req: IncomingMessage): Request | undefined {
  // Behind express, `req.url` lost the mount prefix; the base path refers to the full path.
  const path = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  const scheme = (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  try {
    // The path is parsed on a fixed origin and the Host header applied through the `host`
    // setter, so neither `//evil/x` nor a Host like `x/api/v1/...` can change the pathname.
    const url = new URL(path.startsWith('/') ? `${scheme}://localhost${path}` : path);
    if (path.startsWith('/') && req.headers.host !== undefined) url.host = req.headers.host;
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (Array.isArray(value)) for (const item of value) headers.append(name, item);
      else if (value !== undefined) headers.set(name, value);
    }
    return new Request(url, { method: req.method ?? 'GET', headers });
  } catch {
    return undefined;
  }
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  const body = response.body === null ? undefined : Buffer.from(await response.arrayBuffer());
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  res.writeHead(response.status, headers);
  res.end(body);
}
