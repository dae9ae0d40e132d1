/**
 * Redis for the bus and cluster tests: connections that reconnect fast, a unique key prefix per
 * test, killing a connection from the server side (`CLIENT KILL`), and a private
 * `redis-server` that a test may kill and restart without disturbing other test files.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { SERVICES, tcpReachable } from '../services.js';

/** A key/channel prefix no other test or run uses. */
export function uniqueKeyPrefix(tag: string): string {
  return `rptest:${tag}:${process.pid.toString(36)}${Math.random().toString(36).slice(2, 8)}:`;
}

/** Every connection made through `connect`, closed by `disconnectAll`. */
const open = new Set<Redis>();

/** The connection options tests vary. */
export type TestRedisOptions = Pick<
  RedisOptions,
  | 'port'
  | 'connectionName'
  | 'enableOfflineQueue'
  | 'retryStrategy'
  | 'autoResubscribe'
  | 'protocol'
  | 'lazyConnect'
>;

/** A connection that retries every 20 ms, so reconnect tests do not wait for ioredis's backoff. */
export function connect(options: TestRedisOptions = {}): Redis {
  const redis = new Redis({
    host: SERVICES.redis.host,
    port: SERVICES.redis.port,
    retryStrategy: () => 20,
    ...options,
  });
  // Connection errors while a test has Redis down are expected; ioredis would print each.
  redis.on('error', () => {});
  open.add(redis);
  return redis;
}

export async function ready(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') await once(redis, 'ready');
}

export function disconnectAll(): void {
  for (const redis of open) redis.disconnect();
  open.clear();
}

/** Kills, from the server side, every connection whose `connectionName` is `name`; resolves to how many. */
export function killByName(admin: Redis, name: string): Promise<number> {
  return killWhere(admin, (connectionName) => connectionName === name);
}

/** Kills every connection whose name starts with `prefix` (one cluster's, never another test's). */
export function killByNamePrefix(admin: Redis, prefix: string): Promise<number> {
  return killWhere(admin, (connectionName) => connectionName.startsWith(prefix));
}

async function killWhere(admin: Redis, matches: (connectionName: string) => boolean): Promise<number> {
  const list = (await admin.client('LIST')) as string;
  const ids = list
    .split('\n')
    .filter((line) => matches(/ name=(\S*) /.exec(line)?.[1] ?? ''))
    .map((line) => /^id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  for (const id of ids) await admin.client('KILL', 'ID', id);
  return ids.length;
}

/** Subscribers per channel, as Redis counts them. */
export async function numsub(admin: Redis, channel: string, sharded = false): Promise<number> {
  const reply = (await admin.call('PUBSUB', sharded ? 'SHARDNUMSUB' : 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

/** A free TCP port on 127.0.0.1 (the OS picks it; there is a small window before it is used). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

/** A `redis-server` of our own on a free port, without persistence, that a test can kill and restart. */
export interface PrivateRedis {
  readonly port: number;
  /** Starts it (again, on the same port) and resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGKILLs it: every client connection drops at once, as in a crash. */
  kill(): Promise<void>;
}

export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const instance: PrivateRedis = {
    port,
    async start() {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      const deadline = Date.now() + 5_000;
      while (!(await tcpReachable('127.0.0.1', port, 200))) {
        if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async kill() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return;
      const exited = once(running, 'exit');
      running.kill('SIGKILL');
      await exited;
    },
  };
  await instance.start();
  return instance;
}
