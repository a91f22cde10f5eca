// The Redis store as a Worker builds it (workerRedisStore: a connection of its own per call,
// over cloudflare:sockets): its settleMany reaches the script as one call, like its settle.

import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { tenantKeys } from "../../src/redis/keys";
import { RedisClient } from "../../src/redis/resp/client";
import { cloudflareSocket } from "../../src/redis/resp/cloudflare-socket";
import { workerRedisStore } from "../../src/redis/worker-redis";
import { env } from "../support/workers/helpers";
import { limitsOf } from "./conformance/limiter-conformance";
import { dropPrefix, newKeyHash, newTestTenantId } from "./conformance/redis-harness";

const redisUrl = env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
const prefix = `aegis-test-${crypto.randomUUID().slice(0, 8)}`;
const client = () => new RedisClient({ url: redisUrl, connect: cloudflareSocket, commandTimeoutMs: 5_000 });

afterAll(async () => {
  const redis = client();
  await dropPrefix(redis, prefix);
  await redis.close();
});

describe("workerRedisStore", () => {
  it("settles a batch of a tenant's reservations in order, a duplicate id unknown the second time", async () => {
    const store = workerRedisStore(loadConfig({ ...env, RATE_LIMIT_REDIS_URL: redisUrl }), prefix);
    const tenantId = newTestTenantId();
    const keyHash = newKeyHash();
    const limits = limitsOf({ burst: 100, dailyUnits: 1_000 });
    await store.apply({ tenantId, version: 1, status: "active", limits, keyHashes: [keyHash] });
    const ids: string[] = [];
    for (const cost of [10, 20]) {
      const r = await store.check(tenantId, { keyHash, route: "chat", cost, reserve: true });
      if (r.status !== "ok" || !r.reservation) throw new Error(`reserve answered ${r.status}`);
      ids.push(r.reservation.id);
    }
    const [a, b] = ids as [string, string];
    expect(store.settleMany).toBeDefined();
    const results = await store.settleMany?.(tenantId, [
      { reservationId: a, units: 4 },
      { reservationId: b, units: 25 },
      { reservationId: a, units: 1 },
    ]);
    expect(results).toEqual([{ status: "settled", units: 4 }, { status: "settled", units: 25 }, { status: "unknown" }]);
    const redis = client();
    try {
      const keys = tenantKeys(prefix, tenantId);
      expect(await redis.send(["HGET", keys.tenant, "d.used"])).toBe("29");
      expect(await redis.send(["XLEN", keys.stream])).toBe(2);
    } finally {
      await redis.close();
    }
  });
});
