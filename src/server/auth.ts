/** Default identity and the normalised request shape the auth hooks receive. */
import type { IncomingMessage } from 'node:http';
import { LIMITS } from '../shared/protocol.js';
import type { Authenticate, Authorize, AuthRequest, Identity, Logger } from './types.js';

/**
 * The seed's behaviour: `user_id` (default `anonymous`) and `project_id` from the query.
 * Over-long values are clipped to the seed's column sizes.
 */
export const queryIdentity: Authenticate = (request) => {
  // An upgrade's request reads its query without building the URL it would otherwise build here.
  const query = request instanceof NodeAuthRequest ? request.query : request.url.searchParams;
  return {
    userId: (query.get('user_id') || 'anonymous').slice(0, LIMITS.userIdChars),
    projectId: (query.get('project_id') ?? '').slice(0, LIMITS.projectIdChars),
  };
};

/**
 * The `AuthRequest` of a node:http request (an upgrade or a REST call). `url` and `headers`
 * are built on first use: most upgrades are decided on the query alone, and a `URL` and a
 * `Headers` copy cost more than the rest of the upgrade's own work.
 */
export class NodeAuthRequest implements AuthRequest {
  readonly ip: string;
  #url: URL | undefined;
  #headers: Headers | undefined;
  #query: URLSearchParams | undefined;

  constructor(
    private readonly req: IncomingMessage,
    readonly kind: AuthRequest['kind'],
  ) {
    this.ip = req.socket.remoteAddress ?? '';
  }

  get url(): URL {
    this.#url ??= requestUrl(this.req);
    return this.#url;
  }

  get headers(): Headers {
    this.#headers ??= headersOf(this.req);
    return this.#headers;
  }

  /** The query's parameters, without building the whole URL. */
  get query(): URLSearchParams {
    if (this.#url !== undefined) return this.#url.searchParams;
    if (this.#query === undefined) {
      const target = this.req.url ?? '';
      const start = target.indexOf('?');
      this.#query = new URLSearchParams(start === -1 ? '' : target.slice(start + 1));
    }
    return this.#query;
  }
}

function headersOf(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else if (value !== undefined) headers.set(name, value);
  }
  return headers;
}

/** The path of a node:http request's target, without its query. */
export function requestPath(req: IncomingMessage): string {
  const target = req.url ?? '/';
  const end = target.indexOf('?');
  return end === -1 ? target : target.slice(0, end);
}

/**
 * The absolute URL of a node:http request. The path is appended to the origin rather than
 * resolved against it, so a target like `//evil/api/v1/ws` stays a path; a malformed Host
 * header falls back to `localhost`.
 */
export function requestUrl(req: IncomingMessage): URL {
  const path = req.url?.startsWith('/') ? req.url : `/${req.url ?? ''}`;
  try {
    return new URL(`http://${req.headers.host ?? 'localhost'}${path}`);
  } catch {
    return new URL(`http://localhost${path}`);
  }
}

/** Builds the `AuthRequest` of a WHATWG `Request` (the fetch adapter). */
export function authRequestFromFetch(request: Request): AuthRequest {
  return { url: new URL(request.url), headers: request.headers, ip: '', kind: 'http' };
}

export interface AuthHooks {
  /** Never throws: a throwing hook is logged and counts as a refusal. */
  authenticate(request: AuthRequest): Promise<Identity | null>;
  /** Never throws: a throwing hook is logged and counts as a refusal. */
  authorize(identity: Identity, taskId: string): Promise<boolean>;
  /** True when the host supplied `authenticate` (identities are then trusted, not query-given). */
  readonly custom: boolean;
}

/** Wraps the host's hooks (or the defaults) so the rest of the server never sees a throw. */
export function createAuthHooks(
  authenticate: Authenticate | undefined,
  authorize: Authorize | undefined,
  logger: Logger,
): AuthHooks {
  const authn = authenticate ?? queryIdentity;
  return {
    custom: authenticate !== undefined,
    async authenticate(request) {
      try {
        return (await authn(request)) ?? null;
      } catch (error) {
        logger.error({ err: error }, 'authenticate threw; refusing the request');
        return null;
      }
    },
    async authorize(identity, taskId) {
      if (authorize === undefined) return true;
      try {
        return (await authorize(identity, taskId)) === true;
      } catch (error) {
        logger.error({ err: error }, 'authorize threw; refusing access');
        return false;
      }
    },
  };
}
