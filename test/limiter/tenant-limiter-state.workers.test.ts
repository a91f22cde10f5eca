import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantLimiter } from "../../src/tenant-limiter";
import { call, limiterStub, newTenant } from "../support/workers/helpers";

/** Sets the limiter's clock; it stays set until the object is evicted. */
async function setClock(tenantId: string, at: number): Promise<void> {
  await runInDurableObject(limiterStub(tenantId), (instance: TenantLimiter) => {
    instance.clock = () => at;
  });
}

async function usedOf(tenantId: string): Promise<number> {
  const limits = await limiterStub(tenantId).limits({ routes: [] });
  if (limits.status !== "ok") throw new Error(`limits: ${limits.status}`);
  return limits.limits.daily.used;
}

async function statuses(key: string, n: number, path = "/v1/completions"): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await call(key, path);
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

describe("TenantLimiter state", () => {
  it("survives eviction in the middle of a sequence", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 10, dailyUnits: 25 });
    expect(await statuses(t.key, 6)).toEqual(Array(6).fill(200));
    await evictDurableObject(limiterStub(t.id));
    // The bucket had 4 tokens left and the day 19 units; a fresh object must know.
    expect(await statuses(t.key, 5)).toEqual([200, 200, 200, 200, 429]);
    const limits = await limiterStub(t.id).limits({ routes: ["default"] });
    expect(limits.status === "ok" && limits.limits.daily.used).toBe(10);
  });

  it("resets the daily quota at midnight UTC, under an injected clock", async () => {
    const t = await newTenant({ ratePerMinute: 6_000, burst: 100, dailyUnits: 3, timeZone: "UTC" });
    const lastSecond = Date.UTC(2026, 10, 29, 23, 59, 59, 200);
    await setClock(t.id, lastSecond);
    expect(await statuses(t.key, 3)).toEqual([200, 200, 200]);
    const limited = await call(t.key, "/v1/completions");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    expect(((await limited.json()) as Record<string, unknown>)["violated-policies"]).toEqual(["daily"]);
    await setClock(t.id, Date.UTC(2026, 10, 30, 0, 0, 0, 0));
    expect(await statuses(t.key, 4)).toEqual([200, 200, 200, 429]);
  });

  it("resets at midnight in the tenant's time zone", async () => {
    const t = await newTenant({ ratePerMinute: 6_000, burst: 100, dailyUnits: 1, timeZone: "Asia/Tokyo" });
    // Midnight in Tokyo is 15:00 UTC.
    await setClock(t.id, Date.UTC(2026, 10, 29, 14, 59, 0));
    expect(await statuses(t.key, 2)).toEqual([200, 429]);
    await setClock(t.id, Date.UTC(2026, 10, 29, 15, 0, 0));
    expect(await statuses(t.key, 2)).toEqual([200, 429]);
  });

  it("consumes nothing for a call whose caller has already given up (past its deadline)", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: 10 });
    const stub = limiterStub(t.id);
    expect(await stub.check({ route: "default", cost: 3, deadline: Date.now() - 1 })).toEqual({ status: "late" });
    const ok = await stub.check({ route: "default", cost: 3, deadline: Date.now() + 60_000 });
    expect(ok.status === "ok" && ok.decision.policies[0]?.remaining).toBe(2);
  });

  it("peeks at cost 0 without consuming", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 2, dailyUnits: 10 });
    const stub = limiterStub(t.id);
    for (let i = 0; i < 5; i++) {
      const r = await stub.check({ route: "default", cost: 0 });
      expect(r.status === "ok" && r.decision.allowed).toBe(true);
    }
    expect(await statuses(t.key, 3)).toEqual([200, 200, 429]);
  });

  it("settles a reservation: refunds the difference, or charges it", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: 1_000 });
    const stub = limiterStub(t.id);
    const reserved = await stub.check({ route: "default", cost: 30, reserve: true });
    if (reserved.status !== "ok" || !reserved.reservation) throw new Error("expected a reservation");
    expect(await stub.settle(reserved.reservation.id, 12)).toEqual({ status: "settled", units: 12 });
    let limits = await stub.limits({ routes: ["default"] });
    if (limits.status !== "ok") throw new Error("expected limits");
    expect(limits.limits.buckets[0]?.remaining).toBe(88);
    expect(limits.limits.daily.used).toBe(12);

    const second = await stub.check({ route: "default", cost: 10, reserve: true });
    if (second.status !== "ok" || !second.reservation) throw new Error("expected a reservation");
    await stub.settle(second.reservation.id, 25);
    limits = await stub.limits({ routes: ["default"] });
    if (limits.status !== "ok") throw new Error("expected limits");
    expect(limits.limits.buckets[0]?.remaining).toBe(63);
    expect(limits.limits.daily.used).toBe(37);
    // Settling twice does nothing the second time.
    expect(await stub.settle(second.reservation.id, 0)).toEqual({ status: "unknown" });
  });

  it("lets an unsettled reservation expire and keep its estimate", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: 1_000 });
    const stub = limiterStub(t.id);
    const start = Date.UTC(2026, 10, 29, 10);
    await setClock(t.id, start);
    const reserved = await stub.check({ route: "default", cost: 40, reserve: true });
    if (reserved.status !== "ok" || !reserved.reservation) throw new Error("expected a reservation");
    expect(reserved.reservation.expiresAt).toBe(start + 900_000);
    await setClock(t.id, start + 900_000);
    expect(await stub.settle(reserved.reservation.id, 0)).toEqual({ status: "expired" });
    const limits = await stub.limits({ routes: ["default"] });
    expect(limits.status === "ok" && limits.limits.daily.used).toBe(40);
  });

  it("keeps a reservation's model across an eviction, and refuses bad dimensions inside the object too", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: 1_000 });
    const stub = limiterStub(t.id);
    const start = Date.UTC(2026, 10, 29, 10);
    await setClock(t.id, start);
    const reserved = await stub.check({ route: "default", cost: 40, reserve: true, model: "m-held" });
    if (reserved.status !== "ok" || !reserved.reservation) throw new Error("expected a reservation");
    const { id } = reserved.reservation;
    // Called in the object, not over RPC (the Worker's adapter refuses these before the call).
    const refused = await runInDurableObject(stub, async (instance: TenantLimiter) => {
      const attempts = [
        () => instance.settle(id, 4, undefined, { inputTokens: 1, cachedInputTokens: 2 }),
        () => instance.settle(id, 4, undefined, { outputTokens: -3 }),
        () => instance.check({ route: "default", cost: 1, model: "" }),
        () => instance.record({ idempotencyKey: "j", units: 1, route: "default", occurredAt: start, inputTokens: 0.5 }),
      ];
      const out: string[] = [];
      for (const attempt of attempts) out.push(await attempt().then(() => "done", String));
      return out;
    });
    expect(refused).toEqual([
      expect.stringMatching(/^RangeError: cachedInputTokens/),
      expect.stringMatching(/^RangeError: outputTokens/),
      expect.stringMatching(/^RangeError: model/),
      expect.stringMatching(/^RangeError: inputTokens/),
    ]);
    expect(await usedOf(t.id)).toBe(40);

    await evictDurableObject(stub);
    await setClock(t.id, start + 900_000);
    // Settled too late, in the same turn as the outbox is read (before an alarm can send it).
    const { result, outbox } = await runInDurableObject(stub, async (instance: TenantLimiter, state) => ({
      result: await instance.settle(id, 3, undefined, { model: "m-late", inputTokens: 2, outputTokens: 1 }),
      outbox: state.storage.sql
        .exec("SELECT event FROM outbox ORDER BY seq")
        .toArray()
        .map((r) => JSON.parse(String(r.event)) as Record<string, unknown>),
    }));
    expect(result).toEqual({ status: "expired" });
    expect(outbox).toEqual([
      expect.objectContaining({ units: 40, model: "m-held", requests: 1, inputTokens: 0, estimated: true }),
    ]);
  });

  it("in shadow mode admits every call but reports the limits as they are", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 2, dailyUnits: 100, shadow: true });
    const responses = [];
    for (let i = 0; i < 4; i++) responses.push(await call(t.key, "/v1/completions"));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(responses[3]?.headers.get("ratelimit")).toMatch(/^"default";r=0;t=\d+, "daily";r=96;t=\d+$/);
    const check = await limiterStub(t.id).check({ route: "default", cost: 1 });
    expect(check.status === "ok" && check.decision).toMatchObject({
      allowed: true,
      shadowed: true,
      violated: ["default"],
    });
  });
});
