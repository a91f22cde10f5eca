// The conformance suite against the Redis store in Node, over node:net, on the local Redis.

import { afterAll } from "vitest";
import { RedisClient } from "../../../src/redis/resp/client";
import { nodeSocket } from "../../../src/redis/resp/node-socket";
import { limiterConformance } from "./limiter-conformance";
import { dropPrefix, type RedisHarness, redisHarness } from "./redis-harness";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
const prefix = `aegis-test-${crypto.randomUUID().slice(0, 8)}`;
const redis = new RedisClient({ url: REDIS_URL, connect: nodeSocket, commandTimeoutMs: 5_000 });
let harness: RedisHarness | undefined;

afterAll(async () => {
  await dropPrefix(redis, prefix);
  await redis.close();
});

limiterConformance(
  "Redis (Node, node:net)",
  () => {
    harness ??= redisHarness(redis, prefix);
    return harness;
  },
  { settleMany: true, leases: true },
);
