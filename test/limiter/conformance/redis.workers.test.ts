// The conformance suite against the Redis store inside workerd, over cloudflare:sockets: the
// path a Workers deployment takes to a self-hosted Redis.

import { afterAll, afterEach } from "vitest";
import { RedisClient } from "../../../src/redis/resp/client";
import { cloudflareSocket } from "../../../src/redis/resp/cloudflare-socket";
import { env } from "../../support/workers/helpers";
import { limiterConformance } from "./limiter-conformance";
import { dropPrefix, type RedisHarness, redisHarness } from "./redis-harness";

const url = env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
const prefix = `aegis-test-${crypto.randomUUID().slice(0, 8)}`;
const client = () => new RedisClient({ url, connect: cloudflareSocket, commandTimeoutMs: 5_000 });

// A Worker's sockets belong to the request (here: the test) that opened them, so each test
// gets its own connection and harness.
let current: { redis: RedisClient; harness: RedisHarness } | undefined;

afterEach(async () => {
  await current?.redis.close();
  current = undefined;
});

afterAll(async () => {
  const redis = client();
  await dropPrefix(redis, prefix);
  await redis.close();
});

limiterConformance(
  "Redis (workerd, cloudflare:sockets)",
  () => {
    if (!current) {
      const redis = client();
      current = { redis, harness: redisHarness(redis, prefix) };
    }
    return current.harness;
  },
  { settleMany: true, leases: true },
);
