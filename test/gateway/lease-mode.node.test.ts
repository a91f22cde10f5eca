// Lease mode in `npm run serve` against a redis-server of the test's own: a tenant in lease
// mode is admitted mostly from the process's leases, so its metered calls cost Redis far
// fewer script calls than the same calls of a tenant in exact mode (INFO commandstats), and
// every call is still stored once, at the tokens the upstream reported.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { newTenant, storedUsage, type Tenant } from "../support/metered-tenant";
import { type DedicatedRedis, startDedicatedRedis } from "../support/redis-server";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

const CALLS = 120;
/** Calls in flight at once: a hot tenant. */
const PARALLEL = 8;
let redis: DedicatedRedis;
let gateway: TestGateway;
let client: RedisClient;

beforeAll(async () => {
  redis = await startDedicatedRedis();
  gateway = await startTestGateway("lease_mode", { RATE_LIMIT_REDIS_URL: redis.url });
  client = new RedisClient({ url: redis.url, connect: nodeSocket });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await gateway?.stop();
  await redis?.stop();
});

async function scriptCalls(): Promise<number> {
  const info = String(await client.send(["INFO", "commandstats"]));
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

function call(tenant: Tenant, tokens: number) {
  return fetch(`${gateway.url}/v1/chat/completions?tokens=${tokens}`, {
    method: "POST",
    headers: { authorization: `Bearer ${tenant.key}` },
    body: "{}",
  });
}

/** Runs CALLS metered calls of the tenant, PARALLEL at a time; answers the script calls they cost. */
async function run(tenant: Tenant): Promise<number> {
  const warm = await call(tenant, 1);
  await warm.arrayBuffer();
  await gateway.server.flushUsage();
  await client.send(["CONFIG", "RESETSTAT"]);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < CALLS; i = next++) {
      const res = await call(tenant, i + 1);
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit")).toMatch(/r=\d+/);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  // Closes the leases, with their reports, and stores what they admitted.
  await gateway.server.flushUsage();
  return scriptCalls();
}

const quota = (leases: boolean) => ({ ratePerMinute: 0, burst: 1_000_000, dailyUnits: null, leases });

describe("lease mode in npm run serve", () => {
  it("admits a hot tenant's calls from leases, each call stored once at its own tokens", async () => {
    const exact = await newTenant(gateway, "exact", quota(false));
    const leased = await newTenant(gateway, "leased", quota(true));
    const exactCalls = await run(exact);
    const leasedCalls = await run(leased);
    // Exact mode: a check per call, and its settles in batches. Lease mode: about four per
    // lease, one lease a term (the renewing call's check and settle, the grant, the report),
    // and a check for each call that comes while its scope's renewal is on its way.
    expect(exactCalls).toBeGreaterThanOrEqual(CALLS);
    expect(leasedCalls).toBeLessThan(exactCalls / 2);
    const total = 1 + (CALLS * (CALLS + 1)) / 2;
    for (const tenant of [exact, leased]) {
      const usage = await storedUsage(gateway, tenant, CALLS + 1);
      expect(usage.totals.requests).toBe(CALLS + 1);
      expect(usage.totalUnits).toBe(total);
      expect(usage.totals.estimatedRequests).toBe(0);
    }
  }, 60_000);
});
