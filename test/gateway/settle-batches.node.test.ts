// `npm run serve` coalesces a tenant's settles: twenty concurrent calls whose replies end
// together cost Redis twenty checks but only a few settle script calls, counted by a
// redis-server of the test's own (INFO commandstats), and every call is still stored once.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { newTenant, storedUsage } from "../support/metered-tenant";
import { type DedicatedRedis, startDedicatedRedis } from "../support/redis-server";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

const CALLS = 20;
let redis: DedicatedRedis;
let gateway: TestGateway;

beforeAll(async () => {
  redis = await startDedicatedRedis();
  gateway = await startTestGateway("settle_batches", { RATE_LIMIT_REDIS_URL: redis.url });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await redis?.stop();
});

/** EVALSHA calls Redis has run since its stats were reset. */
async function scriptCalls(client: RedisClient): Promise<number> {
  const info = String(await client.send(["INFO", "commandstats"]));
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

describe("settle batches in npm run serve", () => {
  it("settles 20 concurrent calls of one tenant in a few script calls, each call stored once", async () => {
    const tenant = await newTenant(gateway, "batched");
    const client = new RedisClient({ url: redis.url, connect: nodeSocket });
    try {
      // One call first, so that the tenant's config is in Redis and its load is not counted.
      const warm = await fetch(`${gateway.url}/v1/chat/completions?tokens=1`, {
        method: "POST",
        headers: { authorization: `Bearer ${tenant.key}` },
        body: "{}",
      });
      await warm.arrayBuffer();
      await gateway.server.flushUsage();
      await client.send(["CONFIG", "RESETSTAT"]);

      // Streams the upstream holds open, so that every reply ends when they are released.
      const holds = Array.from({ length: CALLS }, (_, i) => `batch-${tenant.id}-${i}`);
      const responses = await Promise.all(
        holds.map((hold, i) =>
          fetch(`${gateway.url}/v1/chat/completions?sse=1&tokens=${i + 1}&hold=${hold}`, {
            method: "POST",
            headers: { authorization: `Bearer ${tenant.key}` },
            body: "{}",
          }),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(holds.map(() => 200));
      const bodies = responses.map((r) => r.text());
      await Promise.all(holds.map((hold) => fetch(`${gateway.upstreamUrl}/release?id=${hold}`)));
      await Promise.all(bodies);
      await gateway.server.flushUsage();

      // 20 checks, and the settles in a few batches (one call each would make it 40).
      const calls = await scriptCalls(client);
      expect(calls).toBeGreaterThanOrEqual(CALLS + 1);
      expect(calls).toBeLessThanOrEqual(CALLS + 5);
      // Every call stored once, at its own tokens: 1 + 1 + 2 + … + 20.
      const usage = await storedUsage(gateway, tenant, CALLS + 1);
      expect(usage.totalUnits).toBe(1 + (CALLS * (CALLS + 1)) / 2);
    } finally {
      await client.close();
    }
  }, 60_000);
});
