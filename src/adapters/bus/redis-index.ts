/**
 * @module realtime-progress/redis
 * Multi-node fan-out over Redis pub/sub (ioredis): `createRedisBus` for the servers' `bus`
 * option and for `createProgressPublisher` in workers, and `createRedisPresence` for
 * cluster-wide connection stats. See `docs/scaling.md`.
 */
export {
  createRedisBus,
  DEFAULT_REDIS_BUS_OPTIONS,
  type RedisBusLogger,
  type RedisBusOptions,
  type RedisConnection,
} from './redis.js';
export {
  createRedisPresence,
  DEFAULT_REDIS_PRESENCE_OPTIONS,
  type RedisPresenceOptions,
} from './redis-presence.js';
export type { ClusterPresence, PresenceStats } from './types.js';
