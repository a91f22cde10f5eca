// What the Redis store's own node tests share: a client on the local Redis under a fresh key
// prefix (removed after the file's tests), a fixed start time, and a quota to vary.

import { afterAll } from "vitest";
import type { TenantLimits } from "../../src/core/limits";
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

export const limits = (l: Partial<TenantLimits> = {}): TenantLimits => ({
  ratePerMinute: 0,
  burst: 100,
  dailyUnits: 1_000,
  timeZone: "UTC",
  shadow: false,
  routes: {},
  ...l,
});
