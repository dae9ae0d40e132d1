/**
 * Who may open a WebSocket: the browser origin check (cross-site WebSocket hijacking) and the
 * connection caps (total, per IP, per user). Runs before the upgrade completes.
 */
import type { ErrorCode } from '../shared/codes.js';
import type { ResolvedServerOptions } from './options.js';
import type { AuthRequest, Identity } from './types.js';

export interface Admission {
  /**
   * Why the upgrade must be refused, or `undefined` to let it through. `origin` is the
   * request's `Origin` header (sent by browsers).
   */
  check(
    origin: string | undefined,
    request: AuthRequest,
    identity: Identity,
  ): { code: ErrorCode; message: string } | undefined;
  /** Counts an accepted connection of `userId` from `ip`. */
  opened(ip: string, userId: string): void;
  /** Counts one of them closed; once per `opened`. */
  closed(ip: string, userId: string): void;
}

export function createAdmission(options: ResolvedServerOptions, customAuthenticate: boolean): Admission {
  const { maxConnections, maxConnectionsPerIp, maxConnectionsPerUser } = options.limits;
  const byIp = new Map<string, number>();
  const byUser = new Map<string, number>();
  let total = 0;
  const originAllowed = createOriginCheck(options.allowedOrigins, customAuthenticate);

  const add = (map: Map<string, number>, key: string, delta: number): void => {
    const next = (map.get(key) ?? 0) + delta;
    if (next <= 0) map.delete(key);
    else map.set(key, next);
  };

  return {
    check(origin, request, identity) {
      if (origin !== undefined && !originAllowed(origin, request)) {
        return { code: 'ORIGIN_NOT_ALLOWED', message: 'This origin may not open a WebSocket here.' };
      }
      if (total >= maxConnections)
        return { code: 'TOO_MANY_CONNECTIONS', message: 'The server is at its connection limit.' };
      if (maxConnectionsPerIp > 0 && (byIp.get(request.ip) ?? 0) >= maxConnectionsPerIp) {
        return { code: 'TOO_MANY_CONNECTIONS', message: 'Too many connections from this address.' };
      }
      if (maxConnectionsPerUser > 0 && (byUser.get(identity.userId) ?? 0) >= maxConnectionsPerUser) {
        return { code: 'TOO_MANY_CONNECTIONS', message: 'Too many connections for this user.' };
      }
      return undefined;
    },
    // Per-address and per-user counts are kept only when their limit is set.
    opened(ip, userId) {
      total++;
      if (maxConnectionsPerIp > 0) add(byIp, ip, 1);
      if (maxConnectionsPerUser > 0) add(byUser, userId, 1);
    },
    closed(ip, userId) {
      total--;
      if (maxConnectionsPerIp > 0) add(byIp, ip, -1);
      if (maxConnectionsPerUser > 0) add(byUser, userId, -1);
    },
  };
}

function createOriginCheck(
  allowed: ResolvedServerOptions['allowedOrigins'],
  customAuthenticate: boolean,
): (origin: string, request: AuthRequest) => boolean {
  if (typeof allowed === 'function') return allowed;
  if (allowed !== undefined) {
    return (origin) =>
      allowed.some((rule) => (typeof rule === 'string' ? rule === origin : rule.test(origin)));
  }
  if (!customAuthenticate) return () => true;
  // Same origin: the page's origin names the host the upgrade was sent to.
  return (origin, request) => {
    try {
      return new URL(origin).host === request.url.host;
    } catch {
      return false;
    }
  };
}
