/**
 * The WHATWG fetch adapter: Hono, Next.js route handlers, Bun, Deno, Cloudflare-style hosts.
 * Nothing to convert; it only answers 404 for paths the core does not own.
 */
import type { HttpApi } from './api.js';
import { notFoundResponse } from './responses.js';

/**
 * Serves the REST API as `(request) => Promise<Response>`. A path no route owns answers a
 * JSON 404 (`NOT_FOUND`), so mount it on the base path only (e.g. Hono `app.all('/api/v1/*')`).
 * `authenticate` sees the `Request`'s URL and headers; the peer address is `''` here because a
 * `Request` does not carry it (read a trusted proxy header in `authenticate` if you need it).
 */
export function createFetchHandler(api: HttpApi): (request: Request) => Promise<Response> {
  return async (request) => (await api.handle(request)) ?? notFoundResponse(request);
}
