/**
 * Response builders shared by the HTTP core and both adapters: every body is JSON, every
 * error is `{ error, code }` with the status from the code table, nothing is cached.
 */
import { ERROR_CODE_INFO, type ErrorCode } from '../../shared/codes.js';

const encoder = new TextEncoder();

/** Headers on every response: JSON in UTF-8, and progress is live data, so never cached. */
const BASE_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/** The error body of every REST failure (the seed's `{"error"}` plus a machine-readable code). */
export interface HttpErrorBody {
  readonly error: string;
  readonly code: ErrorCode;
}

/** A JSON response with an explicit `content-length`, so a HEAD answer can carry it too. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const bytes = encoder.encode(JSON.stringify(body));
  return new Response(bytes, {
    status,
    headers: { ...BASE_HEADERS, 'content-length': String(bytes.byteLength), ...headers },
  });
}

/** `{ error: message, code }` with the HTTP status the code table gives `code`. */
export function errorResponse(
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const body: HttpErrorBody = { error: message, code };
  return jsonResponse(ERROR_CODE_INFO[code].httpStatus, body, headers);
}

/** The answer to a path no route owns, for adapters that have no `next()` to hand it to. */
export function notFoundResponse(request: Request): Response {
  const response = errorResponse(
    'NOT_FOUND',
    `No route for ${request.method} ${new URL(request.url).pathname}.`,
  );
  return request.method === 'HEAD' ? withoutBody(response) : response;
}

/** The same status and headers without a body: what a HEAD request gets. */
export function withoutBody(response: Response): Response {
  return new Response(null, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** Clips a client-supplied value before it is echoed in an error message. */
export function quote(value: string, maxChars = 100): string {
  return JSON.stringify(value.length > maxChars ? `${value.slice(0, maxChars)}…` : value);
}
