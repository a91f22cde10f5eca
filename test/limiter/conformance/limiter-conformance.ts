// The limiter conformance suite: one set of behaviours every LimiterStore backend must show.
//
// It runs against the TenantLimiter Durable Object in workerd, against the Redis store in
// Node and in workerd (over cloudflare:sockets), and against the in-memory store
// (src/core/memory-store.ts) in Node. Each backend supplies a harness that creates tenants,
// changes them in the operator API's order (the source of truth, then a push to the
// limiter), and sets the clock. The Durable Object's harness goes through the real operator
// API and Postgres; the Redis and memory harnesses stand a Map in for Postgres (see them).

import { describe, expect, it } from "vitest";
import type { LimiterStore } from "../../../src/core/limiter-store";
import type { KeyLimits, OverrideQuota, TenantLimits } from "../../../src/core/limits";
import type { QuotaAlert } from "../../../src/core/quota-alerts";
import type { UsageEvent } from "../../../src/core/usage-event";
import { aiLimitsConformance } from "./ai-limits-conformance";
import { alertsConformance } from "./alerts-conformance";
import { decisionOf, policy } from "./check-results";
import { leaseConformance } from "./lease-conformance";
import { settleManyConformance } from "./settle-many-conformance";
import { usageEventConformance } from "./usage-event-conformance";

export interface ConformanceTenant {
  tenantId: string;
  keyHash: string;
}

export interface ConformanceHarness {
  store: LimiterStore;
  /** How long an unsettled reservation is held (RESERVATION_TTL_SECONDS). */
  reservationTtlMs: number;
  /** A new tenant with these limits and one live key. */
  createTenant(limits: TenantLimits): Promise<ConformanceTenant>;
  /** Sets the tenant's limiter clock to `ms` (since the epoch). */
  setNow(tenant: ConformanceTenant, ms: number): Promise<void>;
  /** Revokes the tenant's key: the source of truth first, then a push, as the operator API does. */
  revokeKey(tenant: ConformanceTenant): Promise<void>;
  /** Gives the tenant's key its own limits, as the operator API does. */
  setKeyLimits(tenant: ConformanceTenant, limits: KeyLimits): Promise<void>;
  /** Overrides the tenant's limits until `until` (ms since the epoch, in the real future), as the operator API does. */
  setOverride(tenant: ConformanceTenant, quota: OverrideQuota, until: number): Promise<void>;
  /** Suspends the tenant, as the operator API does. */
  suspend(tenant: ConformanceTenant): Promise<void>;
  /** A new tenant in Postgres only, never pushed: the limiter must load it. */
  createColdTenant(limits: TenantLimits): Promise<ConformanceTenant>;
  /**
   * The usage events the limiter has emitted for the tenant so far, in any order, once at
   * least `count` of them can be seen (the Durable Object's may be on their way to Postgres).
   */
  events(tenant: ConformanceTenant, count: number): Promise<UsageEvent[]>;
  /**
   * The quota alerts the limiter has written for the tenant so far, in any order, once at
   * least `count` of them can be seen (the Durable Object's may be on their way to Postgres).
   */
  alerts(tenant: ConformanceTenant, count: number): Promise<QuotaAlert[]>;
  /** Records the tenant's expired reservations now: the DO's alarm, the Redis sweep, the memory sweep. */
  sweep(tenant: ConformanceTenant): Promise<void>;
}

/** A fixed instant: 2026-06-15 10:00 UTC. */
export const T0 = Date.UTC(2026, 5, 15, 10, 0, 0);
const HOUR = 3_600_000;

export const limitsOf = (l: Partial<TenantLimits>): TenantLimits => ({
  ratePerMinute: 0,
  burst: 100,
  dailyUnits: null,
  timeZone: "UTC",
  shadow: false,
  routes: {},
  ...l,
});

/**
 * `settleMany`, `leases`: the backend has them, and their sections run; without, the suite
 * checks they are absent.
 */
export function limiterConformance(
  backend: string,
  harness: () => ConformanceHarness,
  options: { settleMany?: boolean; leases?: boolean } = {},
): void {
  describe(`limiter conformance: ${backend}`, () => {
    async function tenant(l: Partial<TenantLimits>, now = T0) {
      const h = harness();
      const t = await h.createTenant(limitsOf(l));
      await h.setNow(t, now);
      const check = (cost?: number, extra: { route?: string; reserve?: boolean } = {}) =>
        h.store.check(t.tenantId, { keyHash: t.keyHash, route: extra.route ?? "chat", cost, reserve: extra.reserve });
      const limits = async () => {
        const r = await h.store.limits(t.tenantId, { keyHash: t.keyHash, routes: ["chat"] });
        if (r.status !== "ok") throw new Error(`limits: ${r.status}`);
        return r.limits;
      };
      return { h, t, check, limits };
    }

    it("admits exactly min(N, Q) of N concurrent calls, for the bucket and for the daily quota", async () => {
      const bucket = await tenant({ burst: 25 });
      const a = await Promise.all(Array.from({ length: 60 }, () => bucket.check(1)));
      expect(a.filter((r) => decisionOf(r).allowed)).toHaveLength(25);

      const daily = await tenant({ burst: 1_000, dailyUnits: 30 });
      const b = await Promise.all(Array.from({ length: 60 }, () => daily.check(1)));
      expect(b.filter((r) => decisionOf(r).allowed)).toHaveLength(30);
      expect((await daily.limits()).daily).toMatchObject({ used: 30, remaining: 0 });

      const few = await tenant({ burst: 50 });
      const c = await Promise.all(Array.from({ length: 20 }, () => few.check(1)));
      expect(c.every((r) => decisionOf(r).allowed)).toBe(true);
    });

    it("consumes nothing from any policy when a call is rejected", async () => {
      const { check, limits } = await tenant({ burst: 10, dailyUnits: 8 });
      expect(decisionOf(await check(3)).allowed).toBe(true);
      // The bucket would admit 6, the day would not: neither moves.
      const rejected = decisionOf(await check(6));
      expect(rejected).toMatchObject({ allowed: false, shadowed: false, violated: ["daily"] });
      expect(rejected.retryAfterSeconds).toBeGreaterThan(0);
      let now = await limits();
      expect(now.buckets[0]?.remaining).toBe(7);
      expect(now.daily.used).toBe(3);
      // Neither would admit 8: nothing moves either.
      const second = decisionOf(await check(8));
      expect(second).toMatchObject({ allowed: false, violated: ["chat", "daily"] });
      expect(policy(second, "chat")?.remaining).toBe(7);
      now = await limits();
      expect(now.buckets[0]?.remaining).toBe(7);
      expect(now.daily.used).toBe(3);
      // A call that can never fit says so.
      expect(decisionOf(await check(11)).retryAfterSeconds).toBeNull();
    });

    it("peeks with cost 0: reports, admits, consumes nothing, even when exhausted", async () => {
      const { check, limits } = await tenant({ burst: 3, dailyUnits: 100 });
      const peek = decisionOf(await check(0));
      expect(peek).toMatchObject({ allowed: true, cost: 0, violated: [] });
      expect(policy(peek, "chat")?.remaining).toBe(3);
      expect(policy(peek, "daily")).toMatchObject({ quota: 100, remaining: 100 });
      for (let i = 0; i < 3; i++) expect(decisionOf(await check(1)).allowed).toBe(true);
      expect(decisionOf(await check(1)).allowed).toBe(false);
      const exhausted = decisionOf(await check(0));
      expect(exhausted.allowed).toBe(true);
      expect(policy(exhausted, "chat")?.remaining).toBe(0);
      expect((await limits()).daily.used).toBe(3);
    });

    it("settles a reservation: refunds the difference, or charges it", async () => {
      const { h, t, check, limits } = await tenant({ burst: 100, dailyUnits: 1_000 });
      const first = await check(10, { reserve: true });
      if (first.status !== "ok" || !first.reservation) throw new Error("expected a reservation");
      expect((await limits()).daily.used).toBe(10);
      expect(await h.store.settle(t.tenantId, first.reservation.id, 4)).toEqual({ status: "settled", units: 4 });
      let now = await limits();
      expect(now.daily.used).toBe(4);
      expect(now.buckets[0]?.remaining).toBe(96);

      const second = await check(10, { reserve: true });
      if (second.status !== "ok" || !second.reservation) throw new Error("expected a reservation");
      expect(await h.store.settle(t.tenantId, second.reservation.id, 25)).toEqual({ status: "settled", units: 25 });
      now = await limits();
      expect(now.daily.used).toBe(29);
      expect(now.buckets[0]?.remaining).toBe(71);
      // A reservation settles once.
      expect(await h.store.settle(t.tenantId, second.reservation.id, 1)).toEqual({ status: "unknown" });
      expect((await limits()).daily.used).toBe(29);
      expect(await h.store.settle(t.tenantId, "no-such-reservation", 1)).toEqual({ status: "unknown" });
    });

    it("keeps an expired reservation's estimate, and refuses to settle it afterwards", async () => {
      const { h, t, check, limits } = await tenant({ burst: 100, dailyUnits: 1_000 });
      const r = await check(12, { reserve: true });
      if (r.status !== "ok" || !r.reservation) throw new Error("expected a reservation");
      expect(r.reservation.expiresAt).toBe(T0 + h.reservationTtlMs);
      await h.setNow(t, T0 + h.reservationTtlMs + 1);
      expect(await h.store.settle(t.tenantId, r.reservation.id, 2)).toEqual({ status: "expired" });
      expect((await limits()).daily.used).toBe(12);
    });

    it("resets the daily quota at midnight UTC, and at midnight in the tenant's time zone", async () => {
      const utc = await tenant({ burst: 100, dailyUnits: 5 }, Date.UTC(2026, 5, 15, 23, 59, 59));
      expect(decisionOf(await utc.check(5)).allowed).toBe(true);
      const limited = decisionOf(await utc.check(1));
      expect(limited.allowed).toBe(false);
      expect(limited.retryAfterSeconds).toBe(1);
      await utc.h.setNow(utc.t, Date.UTC(2026, 5, 16, 0, 0, 0));
      expect(decisionOf(await utc.check(5)).allowed).toBe(true);

      // Tokyo's midnight is 15:00 UTC.
      const tokyo = await tenant({ burst: 100, dailyUnits: 5, timeZone: "Asia/Tokyo" }, Date.UTC(2026, 5, 15, 14, 0));
      expect(decisionOf(await tokyo.check(5)).allowed).toBe(true);
      const wait = decisionOf(await tokyo.check(1));
      expect(wait.allowed).toBe(false);
      expect(policy(wait, "daily")?.resetSeconds).toBe(3_600);
      await tokyo.h.setNow(tokyo.t, Date.UTC(2026, 5, 15, 14, 59, 59));
      expect(decisionOf(await tokyo.check(1)).allowed).toBe(false);
      await tokyo.h.setNow(tokyo.t, Date.UTC(2026, 5, 15, 15, 0, 0));
      expect(decisionOf(await tokyo.check(5)).allowed).toBe(true);
      expect((await tokyo.limits()).daily).toMatchObject({ used: 5, timeZone: "Asia/Tokyo" });
    });

    it("refills the bucket at its rate, exactly", async () => {
      const { h, t, check } = await tenant({ burst: 10, ratePerMinute: 60 });
      expect(decisionOf(await check(10)).allowed).toBe(true);
      const empty = decisionOf(await check(1));
      expect(empty).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
      await h.setNow(t, T0 + 2_999);
      expect(decisionOf(await check(2)).allowed).toBe(true);
      expect(decisionOf(await check(1)).allowed).toBe(false);
      await h.setNow(t, T0 + 60_000 + HOUR);
      expect(policy(decisionOf(await check(0)), "chat")?.remaining).toBe(10);
    });

    it("in shadow mode admits everything, reports what it would have refused, and counts it", async () => {
      const { check, limits } = await tenant({ burst: 2, dailyUnits: 3, shadow: true });
      const results = [];
      for (let i = 0; i < 5; i++) results.push(decisionOf(await check(1)));
      expect(results.every((d) => d.allowed)).toBe(true);
      expect(results.map((d) => d.shadowed)).toEqual([false, false, true, true, true]);
      expect(results[2]?.violated).toEqual(["chat"]);
      expect(results[4]?.violated).toEqual(["chat", "daily"]);
      const now = await limits();
      expect(now.shadow).toBe(true);
      expect(now.daily.used).toBe(5);
      // The bucket floors at zero rather than running up a debt.
      expect(now.buckets[0]?.remaining).toBe(0);
    });

    it("keeps tenants apart: one tenant's use and keys mean nothing to another", async () => {
      const a = await tenant({ burst: 3, dailyUnits: 10 });
      const b = await tenant({ burst: 3, dailyUnits: 10 });
      for (let i = 0; i < 3; i++) expect(decisionOf(await a.check(1)).allowed).toBe(true);
      expect(decisionOf(await a.check(1)).allowed).toBe(false);
      expect(policy(decisionOf(await b.check(1)), "chat")?.remaining).toBe(2);
      expect(await b.h.store.check(b.t.tenantId, { keyHash: a.t.keyHash, route: "chat", cost: 1 })).toEqual({
        status: "unauthenticated",
      });
      // Buckets are per route too.
      expect(decisionOf(await a.check(1, { route: "embed" })).allowed).toBe(true);
    });

    it("refuses a revoked key and a suspended tenant on the next call", async () => {
      const { h, t, check } = await tenant({ burst: 10 });
      expect(decisionOf(await check(1)).allowed).toBe(true);
      await h.revokeKey(t);
      expect(await check(1)).toEqual({ status: "unauthenticated" });
      expect(await h.store.limits(t.tenantId, { keyHash: t.keyHash, routes: [] })).toEqual({
        status: "unauthenticated",
      });

      const other = await tenant({ burst: 10 });
      await other.h.suspend(other.t);
      expect(await other.check(1)).toEqual({ status: "suspended" });
      // A made-up tenant is unknown, not an error.
      expect(await h.store.check("tnaaaaaaaaaaaaaaaa", { keyHash: t.keyHash, route: "chat" })).toEqual({
        status: "unauthenticated",
      });
    });

    it("answers cold, consuming nothing, to a check that must not load; loads; then decides", async () => {
      const h = harness();
      const t = await h.createColdTenant(limitsOf({ burst: 2, dailyUnits: 10 }));
      await h.setNow(t, T0);
      const check = (loadIfCold: boolean) =>
        h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 1, loadIfCold });
      expect(await check(false)).toEqual({ status: "cold" });
      expect(await check(false)).toEqual({ status: "cold" });
      if (!h.store.load) throw new Error("every backend loads a tenant on its own");
      await h.store.load(t.tenantId);
      expect(decisionOf(await check(false)).allowed).toBe(true);
      expect(decisionOf(await check(false)).allowed).toBe(true);
      // The cold answers took nothing: the burst of 2 was there for the two checks after the load.
      expect(decisionOf(await check(false)).allowed).toBe(false);
      // A tenant Postgres does not have is refused once loaded, and then without a load.
      const ghost = "tnzzzzzzzzzzzzzzzz";
      expect(await h.store.check(ghost, { keyHash: t.keyHash, route: "chat", loadIfCold: false })).toEqual({
        status: "cold",
      });
      await h.store.load(ghost);
      expect(await h.store.check(ghost, { keyHash: t.keyHash, route: "chat", loadIfCold: false })).toEqual({
        status: "unauthenticated",
      });
    });

    it("records reported usage once per idempotency key, against the daily quota only", async () => {
      const { h, t, limits } = await tenant({ burst: 1, dailyUnits: 100 });
      const report = (key: string, units: number) =>
        h.store.record(t.tenantId, {
          keyHash: t.keyHash,
          idempotencyKey: key,
          units,
          route: "chat",
          occurredAt: T0 - HOUR,
        });
      const first = await report("job-1", 60);
      expect(first.status).toBe("recorded");
      const again = await report("job-1", 60);
      expect(again.status).toBe("duplicate");
      if (first.status === "recorded" && again.status === "duplicate") expect(again.eventId).toBe(first.eventId);
      const over = await report("job-2", 41);
      expect(over.status).toBe("limited");
      if (over.status === "limited") expect(over.decision.violated).toEqual(["daily"]);
      expect(await report("job-3", 40)).toMatchObject({ status: "recorded" });
      const now = await limits();
      expect(now.daily.used).toBe(100);
      expect(now.buckets[0]?.remaining).toBe(1);
    });
  });
  usageEventConformance(backend, harness);
  aiLimitsConformance(backend, harness);
  alertsConformance(backend, harness);
  settleManyConformance(backend, harness, options.settleMany === true);
  leaseConformance(backend, harness, options.leases === true);
}
