// What the Redis store's own node tests share: a client on the local Redis under a fresh key
// prefix (removed after the file's tests), a fixed start time, and a store
// whose Postgres is out of reach.

import { afterAll } from "vitest";
import { guardedStore } from "../../src/core/guarded-store";
import { RedisLimiterStore } from "../../src/redis/redis-limiter-store";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { dropPrefix } from "./conformance/redis-harness";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";

export const T0 = Date.UTC(2026, 5, 15, 10);

/** A client and a key prefix of the calling test file's own; call at its top level. */
export function redisForTests(): { redis: RedisClient; prefix: string } {
  const prefix = `aegis-test-${crypto.randomUUID().slice(0, 8)}`;
  const redis = new RedisClient({ url: REDIS_URL, connect: nodeSocket, commandTimeoutMs: 5_000 });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.close();
  });
  return { redis, prefix };
}

/**
 * A second process on the same Redis, as a Worker runs it (no background refresh), whose
 * Postgres is down: every load fails.
 */
export const cutOffStore = (redis: RedisClient, prefix: string, clock: () => number) =>
  guardedStore(
    new RedisLimiterStore({
      redis,
      prefix,
      clock,
      reservationTtlSeconds: 900,
      configRefreshSeconds: 300,
      backgroundRefresh: false,
      loadSnapshot: () => Promise.reject(new Error("postgres down")),
    }),
    1_000,
    1_000,
  );
