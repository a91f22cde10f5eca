// The conformance suite's part for the v2 policies: request buckets apart from units buckets,
// calls in flight, and a key's own limits. Every backend runs it (limiterConformance).

import { describe, expect, it } from "vitest";
import type { Decision } from "../../../src/core/limiter";
import type { CheckRequest, CheckResult } from "../../../src/core/limiter-store";
import type { TenantLimits } from "../../../src/core/limits";
import { decisionOf, policy, reservationOf } from "./check-results";
import { type ConformanceHarness, limitsOf, T0 } from "./limiter-conformance";

const HOUR = 3_600_000;

const admitted = (rs: CheckResult[]) => rs.filter((r) => decisionOf(r).allowed).length;

export function aiLimitsConformance(backend: string, harness: () => ConformanceHarness): void {
  describe(`limiter conformance, v2 policies: ${backend}`, () => {
    async function tenant(l: Partial<TenantLimits>, now = T0) {
      const h = harness();
      const t = await h.createTenant(limitsOf(l));
      await h.setNow(t, now);
      const check = (cost?: number, extra: Partial<CheckRequest> = {}) =>
        h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost, ...extra });
      const limits = async () => {
        const r = await h.store.limits(t.tenantId, { keyHash: t.keyHash, routes: ["chat"] });
        if (r.status !== "ok") throw new Error(`limits: ${r.status}`);
        return r.limits;
      };
      return { h, t, check, limits };
    }

    it("admits exactly min(N, Q) of N concurrent calls against a request bucket, whatever they cost", async () => {
      const a = await tenant({ burst: 1_000_000, requestsPerMinute: 60, requestBurst: 12 });
      const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => a.check(1 + (i % 7) * 100)));
      expect(admitted(rs)).toBe(12);
      const refused = rs.map(decisionOf).find((d) => !d.allowed);
      expect(refused).toMatchObject({ violated: ["chat/requests"], retryAfterSeconds: 1 });
      expect(policy(refused as Decision, "chat/requests")).toMatchObject({ kind: "requests", quota: 12, remaining: 0 });
      // Only the admitted calls' units left the units bucket.
      const spent = rs.map(decisionOf).reduce((n, d) => n + (d.allowed ? d.cost : 0), 0);
      expect((await a.limits()).buckets.find((b) => b.name === "chat")?.remaining).toBe(1_000_000 - spent);

      const few = await tenant({ burst: 1_000, requestsPerMinute: 60 });
      expect(admitted(await Promise.all(Array.from({ length: 30 }, () => few.check(1))))).toBe(30);
    });

    it("checks requests, units and the day together: a refusal by one moves none of them", async () => {
      const { check, limits } = await tenant({ burst: 10, requestBurst: 3, requestsPerMinute: 3, dailyUnits: 100 });
      expect(decisionOf(await check(4)).allowed).toBe(true);
      // The units bucket refuses 7: the request is not taken.
      expect(decisionOf(await check(7))).toMatchObject({ allowed: false, violated: ["chat"] });
      let now = await limits();
      expect(now.buckets.find((b) => b.name === "chat/requests")?.remaining).toBe(2);
      expect(now.daily.used).toBe(4);
      expect(decisionOf(await check(1)).allowed).toBe(true);
      expect(decisionOf(await check(1)).allowed).toBe(true);
      // The request bucket refuses: the units stay.
      expect(decisionOf(await check(1))).toMatchObject({ allowed: false, violated: ["chat/requests"] });
      now = await limits();
      expect(now.buckets.find((b) => b.name === "chat")?.remaining).toBe(4);
      expect(now.daily.used).toBe(6);
      // A peek takes no request.
      expect(decisionOf(await check(0)).allowed).toBe(true);
    });

    it("takes one request per call, at admission, and never settles it", async () => {
      const { h, t, check, limits } = await tenant({ burst: 100, requestBurst: 5, requestsPerMinute: 5 });
      const id = reservationOf(await check(40, { reserve: true }));
      // A reserved call costing 0 units is still a request.
      reservationOf(await check(0, { reserve: true }));
      expect(await h.store.settle(t.tenantId, id, 0)).toEqual({ status: "settled", units: 0 });
      const now = await limits();
      expect(now.buckets.find((b) => b.name === "chat")?.remaining).toBe(100);
      expect(now.buckets.find((b) => b.name === "chat/requests")?.remaining).toBe(3);
    });

    it("has either bucket or both: no units bucket is no units policy", async () => {
      const only = await tenant({ ratePerMinute: null, burst: null, requestsPerMinute: 2, dailyUnits: 1_000 });
      const d = decisionOf(await only.check(900));
      expect(d.allowed).toBe(true);
      expect(d.policies.map((p) => p.name)).toEqual(["chat/requests", "daily"]);
      expect(decisionOf(await only.check(100)).allowed).toBe(true);
      expect(decisionOf(await only.check(1)).violated).toEqual(["chat/requests", "daily"]);
      // A route can have its own request bucket, named after it.
      const route = await tenant({ burst: 50, routes: { embed: { requestsPerMinute: 1 } } });
      expect(decisionOf(await route.check(1, { route: "embed" })).allowed).toBe(true);
      expect(decisionOf(await route.check(1, { route: "embed" })).violated).toEqual(["embed/requests"]);
      expect(decisionOf(await route.check(1)).policies.map((p) => p.name)).toEqual(["chat"]);
    });

    it("admits exactly min(N, Q) of N concurrent reserved calls against maxConcurrent, and frees slots at settle", async () => {
      const { h, t, check, limits } = await tenant({ burst: 1_000, maxConcurrent: 4 });
      const rs = await Promise.all(Array.from({ length: 20 }, () => check(1, { reserve: true })));
      expect(admitted(rs)).toBe(4);
      const refused = rs.map(decisionOf).find((d) => !d.allowed) as Decision;
      expect(refused).toMatchObject({ violated: ["concurrency"], retryAfterSeconds: 1 });
      expect(policy(refused, "concurrency")).toMatchObject({ kind: "concurrency", quota: 4, remaining: 0 });
      expect((await limits()).concurrency).toEqual([{ name: "concurrency", limit: 4, inFlight: 4 }]);
      // A refused call took no units.
      expect((await limits()).buckets.find((b) => b.name === "chat")?.remaining).toBe(996);
      // A call that does not reserve holds no slot, and needs none.
      expect(decisionOf(await check(1)).allowed).toBe(true);
      const held = rs.filter((r) => decisionOf(r).allowed).map(reservationOf);
      expect(await h.store.settle(t.tenantId, held[0] as string, 1)).toMatchObject({ status: "settled" });
      expect(decisionOf(await check(1, { reserve: true })).allowed).toBe(true);
      expect(decisionOf(await check(1, { reserve: true })).allowed).toBe(false);
      for (const id of held.slice(1)) await h.store.settle(t.tenantId, id, 0);
      expect((await limits()).concurrency[0]?.inFlight).toBe(1);
    });

    it("gives an expired reservation's slot back, so slots never leak", async () => {
      const { h, t, check, limits } = await tenant({ burst: 1_000, maxConcurrent: 2 });
      reservationOf(await check(1, { reserve: true }));
      reservationOf(await check(1, { reserve: true }));
      expect(decisionOf(await check(1, { reserve: true })).violated).toEqual(["concurrency"]);
      // Both holders crashed: no settle ever comes. Past the expiry the slots are free, swept or not.
      await h.setNow(t, T0 + h.reservationTtlMs + 1);
      expect(admitted(await Promise.all(Array.from({ length: 5 }, () => check(1, { reserve: true }))))).toBe(2);
      await h.sweep(t);
      expect((await limits()).concurrency[0]?.inFlight).toBe(2);
    });

    it("caps a route's calls in flight apart from the tenant's", async () => {
      const { check, limits } = await tenant({
        burst: 1_000,
        maxConcurrent: 3,
        routes: { chat: { maxConcurrent: 1 } },
      });
      expect(decisionOf(await check(1, { reserve: true })).allowed).toBe(true);
      const refused = decisionOf(await check(1, { reserve: true }));
      expect(refused).toMatchObject({ allowed: false, violated: ["chat/concurrency"] });
      expect(refused.policies.map((p) => p.name)).toEqual(["chat", "concurrency", "chat/concurrency"]);
      expect(decisionOf(await check(1, { reserve: true, route: "embed" })).allowed).toBe(true);
      expect(decisionOf(await check(1, { reserve: true, route: "embed" })).allowed).toBe(true);
      expect(decisionOf(await check(1, { reserve: true, route: "embed" })).violated).toEqual(["concurrency"]);
      expect((await limits()).concurrency).toEqual([
        { name: "concurrency", limit: 3, inFlight: 3 },
        { name: "chat/concurrency", limit: 1, inFlight: 1 },
      ]);
    });

    it("holds a key to its own limits and the tenant's, atomically, and says which refused", async () => {
      const { h, t, check, limits } = await tenant({ burst: 100, requestsPerMinute: 60, dailyUnits: 1_000 });
      await h.setKeyLimits(t, { burst: 10, ratePerMinute: 10, requestsPerMinute: 3 });
      const rs = await Promise.all(Array.from({ length: 10 }, () => check(2)));
      expect(admitted(rs)).toBe(3);
      const refused = rs.map(decisionOf).find((d) => !d.allowed) as Decision;
      expect(refused.violated).toEqual(["key/chat/requests"]);
      expect(refused.policies.map((p) => p.name)).toEqual([
        "chat",
        "chat/requests",
        "key/chat",
        "key/chat/requests",
        "daily",
      ]);
      // The key's refusals took nothing from the tenant's policies.
      let now = await limits();
      expect(now.buckets.find((b) => b.name === "chat/requests")?.remaining).toBe(57);
      expect(now.daily.used).toBe(6);
      expect(now.buckets.find((b) => b.name === "key/chat")?.remaining).toBe(4);
      // The key's units bucket is the strictest for 5 units; the tenant's buckets stay where they were.
      await h.setNow(t, T0 + 60_000);
      expect(decisionOf(await check(11))).toMatchObject({ allowed: false, violated: ["key/chat"] });
      now = await limits();
      expect(now.buckets.find((b) => b.name === "chat")?.remaining).toBe(94);
      // Another route is another key bucket; a call made without the key meets only the tenant's.
      expect(decisionOf(await check(10, { route: "embed" })).allowed).toBe(true);
      const bare = await h.store.check(t.tenantId, { route: "chat", cost: 50 });
      expect(decisionOf(bare).policies.map((p) => p.name)).toEqual(["chat", "chat/requests", "daily"]);
    });

    it("settles a reservation in the key's units bucket as in the route's", async () => {
      const { h, t, check, limits } = await tenant({ burst: 100 });
      await h.setKeyLimits(t, { burst: 50, ratePerMinute: 0 });
      const id = reservationOf(await check(30, { reserve: true }));
      expect(await h.store.settle(t.tenantId, id, 5)).toMatchObject({ status: "settled" });
      const now = await limits();
      expect(now.buckets.find((b) => b.name === "key/chat")?.remaining).toBe(45);
      expect(now.buckets.find((b) => b.name === "chat")?.remaining).toBe(95);
    });

    it("in shadow mode takes from every bucket and slot, floored, and reports every refusal", async () => {
      const { check, limits } = await tenant({
        burst: 2,
        requestBurst: 1,
        requestsPerMinute: 1,
        maxConcurrent: 1,
        shadow: true,
      });
      expect(decisionOf(await check(1, { reserve: true })).shadowed).toBe(false);
      const over = decisionOf(await check(2, { reserve: true }));
      expect(over).toMatchObject({ allowed: true, shadowed: true, violated: ["chat", "chat/requests", "concurrency"] });
      const now = await limits();
      expect(now.buckets.map((b) => b.remaining)).toEqual([0, 0]);
      expect(now.concurrency[0]?.inFlight).toBe(2);
    });

    it("applies an override until its time, then the quota again by itself", async () => {
      const { h, t, check, limits } = await tenant({ burst: 100, dailyUnits: 10 });
      // The override's time is in the real future; the limiter's clock is the test's.
      const until = Date.now() + HOUR;
      await h.setOverride(t, { dailyUnits: 20, requestsPerMinute: 1, routes: { chat: { burst: 30 } } }, until);
      const during = decisionOf(await check(12));
      expect(during.allowed).toBe(true);
      expect(during.policies.map((p) => [p.name, p.quota])).toEqual([
        ["chat", 30],
        ["chat/requests", 1],
        ["daily", 20],
      ]);
      expect(decisionOf(await check(1)).violated).toEqual(["chat/requests"]);
      await h.setNow(t, until - 1);
      expect((await limits()).daily.units).toBe(20);
      // At `until` the quota is back (on another day than T0: the day's count starts again):
      // no request bucket, the units bucket back to a burst of 100 at the level it was left
      // at (30 - 12 = 18: it never refills), and a day of 10.
      await h.setNow(t, until);
      const after = decisionOf(await check(1));
      expect(after.allowed).toBe(true);
      expect(after.policies.map((p) => [p.name, p.quota, p.remaining])).toEqual([
        ["chat", 100, 17],
        ["daily", 10, 9],
      ]);
      expect(decisionOf(await check(10))).toMatchObject({ allowed: false, violated: ["daily"] });
    });
  });
}
