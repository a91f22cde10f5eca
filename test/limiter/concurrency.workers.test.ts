import { describe, expect, it } from "vitest";
import { noonZone } from "../support/noon-zone";
import { call, newTenant, seedTenantInPostgresOnly } from "../support/workers/helpers";

async function burst(key: string, n: number): Promise<Map<number, number>> {
  const statuses = await Promise.all(
    Array.from({ length: n }, async () => {
      const res = await call(key, "/v1/completions");
      await res.arrayBuffer();
      return res.status;
    }),
  );
  const counts = new Map<number, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return counts;
}

describe("concurrency through the Worker", () => {
  it("500 concurrent calls against a bucket of 100 with no refill admit exactly 100", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: null });
    const counts = await burst(t.key, 500);
    expect(Object.fromEntries(counts)).toEqual({ 200: 100, 429: 400 });
  });

  it("500 concurrent calls against a daily quota of 50 units at cost 1 admit exactly 50", async () => {
    // At the tenant's noon: midnight cannot reset the quota while the calls race.
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 50, timeZone: noonZone() });
    const counts = await burst(t.key, 500);
    expect(Object.fromEntries(counts)).toEqual({ 200: 50, 429: 450 });
  });
});

describe("a cold limiter", () => {
  it("loads the tenant from Postgres and still admits exactly the burst under 300 concurrent calls", async () => {
    const t = await seedTenantInPostgresOnly({ ratePerMinute: 0, burst: 40, dailyUnits: null });
    const counts = await burst(t.key, 300);
    expect(Object.fromEntries(counts)).toEqual({ 200: 40, 429: 260 });
  });
});
