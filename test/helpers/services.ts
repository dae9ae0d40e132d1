/**
 * Detects the external services integration tests use (PostgreSQL, MariaDB/MySQL, Redis) with
 * a quick TCP connect. Locally a test skips when its service is down; under CI (`CI` set to
 * anything but `false`/`0`) it must run, so an unreachable service fails the suite instead.
 *
 * @example
 * const runPg = requireService('PostgreSQL', await pgAvailable());
 * describe.runIf(runPg)('...', () => { ... });
 */
import { connect } from 'node:net';

/** Hosts and ports, overridable for machines that run the services elsewhere. */
export const SERVICES = {
  postgres: {
    host: process.env.RP_TEST_PG_HOST ?? '127.0.0.1',
    port: Number(process.env.RP_TEST_PG_PORT ?? 5432),
  },
  mysql: {
    host: process.env.RP_TEST_MYSQL_HOST ?? '127.0.0.1',
    port: Number(process.env.RP_TEST_MYSQL_PORT ?? 3306),
  },
  redis: {
    host: process.env.RP_TEST_REDIS_HOST ?? '127.0.0.1',
    port: Number(process.env.RP_TEST_REDIS_PORT ?? 6379),
  },
} as const;

/** True if a TCP connection to `host:port` opens within `timeoutMs`. */
export function tcpReachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (reachable: boolean) => {
      socket.destroy();
      resolve(reachable);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export const pgAvailable = (): Promise<boolean> =>
  tcpReachable(SERVICES.postgres.host, SERVICES.postgres.port);
export const mysqlAvailable = (): Promise<boolean> => tcpReachable(SERVICES.mysql.host, SERVICES.mysql.port);
export const redisAvailable = (): Promise<boolean> => tcpReachable(SERVICES.redis.host, SERVICES.redis.port);

/** True when running under CI, where every service-backed test must run. */
export function isCi(): boolean {
  const value = process.env.CI;
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/**
 * Whether tests needing `name` should run: `true` when it is available; `false` (skip, with a
 * note on stderr) when it is not and we are not under CI.
 * @throws {Error} under CI when the service is unavailable, so the run fails instead of skipping.
 */
export function requireService(name: string, available: boolean): boolean {
  if (available) return true;
  if (isCi()) {
    throw new Error(
      `${name} is required under CI (CI=${process.env.CI}) but is not reachable; start it before the tests.`,
    );
  }
  process.stderr.write(
    `[tests] ${name} is not reachable; skipping the tests that need it (set CI=true to fail instead).\n`,
  );
  return false;
}
