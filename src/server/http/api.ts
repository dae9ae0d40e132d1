/**
 * The HTTP core: the seed's REST API as `(Request) => Promise<Response | undefined>`, with no
 * framework and no `node:http` inside. `fetch.ts` and `node.ts` are thin transports over it.
 * `docs/http-api.md` describes every route, status and decision.
 */
import { ERROR_CODE_INFO } from '../../shared/codes.js';
import { isProgressError } from '../../shared/errors.js';
import { authRequestFromFetch } from '../auth.js';
import { safeForLog } from '../logger.js';
import { decodeTaskId, HttpError } from './params.js';
import { errorResponse, withoutBody } from './responses.js';
import { type HttpApiDeps, matchRoute, type Route, type RouteMethod } from './routes.js';

export type { HttpApiDeps } from './routes.js';

/** Largest request body a route accepts; none reads a body, so this only refuses abuse early. */
export const MAX_BODY_BYTES = 65_536;

export interface HttpApi {
  /**
   * Answers a REST request. Resolves to `undefined` when the path is outside the base path or
   * matches no route, so an adapter can hand the request on (`next()`) or answer 404 itself.
   * Never rejects: failures become JSON error responses.
   * @param ip The peer address for `authenticate` (`''` when unknown, as in the fetch adapter).
   */
  handle(request: Request, ip?: string): Promise<Response | undefined>;
}

/**
 * Creates the REST core over the server's storage, client registry and auth hooks.
 * @example
 * const api = createHttpApi({ basePath: '/api/v1', storage, clients, auth, logger });
 * const response = (await api.handle(new Request('http://x/api/v1/progress/stats'))) ?? notFound;
 */
export function createHttpApi(deps: HttpApiDeps): HttpApi {
  // '/' and '' both mean "routes at the root"; segments are compared after the prefix.
  const prefix = deps.basePath.replace(/\/+$/, '');

  const segmentsOf = (pathname: string): string[] | undefined => {
    if (!pathname.startsWith(`${prefix}/`)) return undefined;
    const rest = pathname.slice(prefix.length + 1);
    // One trailing slash is tolerated, as express and fastify do by default.
    return (rest.endsWith('/') ? rest.slice(0, -1) : rest).split('/');
  };

  const dispatch = async (
    request: Request,
    url: URL,
    route: Route,
    rawTaskId: string | undefined,
    ip: string,
  ) => {
    const method = (request.method === 'HEAD' ? 'GET' : request.method) as RouteMethod;
    // hasOwn: a method named `toString` must not find Object.prototype's.
    const handler = Object.hasOwn(route.handlers, method) ? route.handlers[method] : undefined;
    if (handler === undefined) {
      throw new HttpError(
        'METHOD_NOT_ALLOWED',
        `${request.method} is not allowed here; use ${allowOf(route)}.`,
        {
          allow: allowOf(route),
        },
      );
    }
    const declaredBytes = Number(request.headers.get('content-length') ?? 0);
    if (declaredBytes > MAX_BODY_BYTES) {
      throw new HttpError(
        'FRAME_TOO_LARGE',
        `Request body of ${declaredBytes} bytes exceeds ${MAX_BODY_BYTES}.`,
      );
    }
    const identity = await deps.auth.authenticate({ ...authRequestFromFetch(request), ip });
    if (identity === null)
      throw new HttpError('UNAUTHENTICATED', 'Authentication required; the request was refused.');
    const taskId = rawTaskId === undefined ? '' : decodeTaskId(rawTaskId);
    if (rawTaskId !== undefined && !(await deps.auth.authorize(identity, taskId))) {
      throw new HttpError('FORBIDDEN', `Access to task ${JSON.stringify(taskId)} is forbidden.`);
    }
    return handler({ url, identity, taskId, deps });
  };

  const failure = (error: unknown, request: Request, url: URL): Response => {
    if (error instanceof HttpError) return errorResponse(error.code, error.message, error.headers);
    const fields = { err: error, method: request.method, path: safeForLog(url.pathname) };
    const code = isProgressError(error) ? error.code : 'INTERNAL';
    // 4xx messages from the SDK talk about the caller's input; 5xx details stay in the log.
    if (ERROR_CODE_INFO[code].httpStatus < 500) return errorResponse(code, (error as Error).message);
    deps.logger.error(fields, 'REST request failed');
    return code === 'STORAGE_UNAVAILABLE'
      ? errorResponse(code, 'Storage is unavailable; retry later.')
      : errorResponse('INTERNAL', 'Internal server error; the details were logged.');
  };

  return {
    async handle(request, ip = '') {
      const url = new URL(request.url);
      const segments = segmentsOf(url.pathname);
      const match = segments === undefined ? undefined : matchRoute(segments);
      if (match === undefined) return undefined;
      // OPTIONS needs no identity: browsers send CORS preflights without credentials.
      if (request.method === 'OPTIONS') {
        return new Response(null, {
          status: 204,
          headers: { allow: allowOf(match.route), 'cache-control': 'no-store' },
        });
      }
      let response: Response;
      try {
        response = await dispatch(request, url, match.route, match.rawTaskId, ip);
      } catch (error) {
        response = failure(error, request, url);
      }
      return request.method === 'HEAD' ? withoutBody(response) : response;
    },
  };
}

/** The `Allow` header of a route: its methods, HEAD with GET, and OPTIONS. */
function allowOf(route: Route): string {
  const methods: string[] = Object.keys(route.handlers);
  if (methods.includes('GET')) methods.splice(methods.indexOf('GET') + 1, 0, 'HEAD');
  return [...methods, 'OPTIONS'].join(', ');
}
