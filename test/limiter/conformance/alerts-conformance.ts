// The conformance suite's part for quota alerts: a threshold of the daily quota fires once
// per tenant and day, under concurrency, through refunds and reports, and again the next day.

import { describe, expect, it } from "vitest";
import type { TenantLimits } from "../../../src/core/limits";
import { reservationOf } from "./check-results";
import { type ConformanceHarness, limitsOf, T0 } from "./limiter-conformance";

const DAY = 86_400_000;

export function alertsConformance(backend: string, harness: () => ConformanceHarness): void {
  describe(`limiter conformance, quota alerts: ${backend}`, () => {
    async function tenant(l: Partial<TenantLimits>) {
      const h = harness();
      const t = await h.createTenant(limitsOf(l));
      await h.setNow(t, T0);
      const check = (cost: number, reserve = false) =>
        h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost, reserve });
      /** The alerts so far, as [day, threshold, used, limit], in threshold order per day. */
      const alerts = async (count: number) =>
        (await h.alerts(t, count))
          .map((a) => [a.day, a.threshold, a.used, a.limit] as const)
          .sort((a, b) => a[0].localeCompare(b[0]) || a[1] - b[1]);
      return { h, t, check, alerts };
    }

    it("fires each threshold once when concurrent calls cross it, and again on the next day", async () => {
      const { h, t, check, alerts } = await tenant({
        burst: 10_000,
        dailyUnits: 100,
        alerts: { thresholds: [0.5, 0.8, 1] },
      });
      const rs = await Promise.all(Array.from({ length: 30 }, () => check(5)));
      expect(rs.filter((r) => r.status === "ok" && r.decision.allowed)).toHaveLength(20);
      expect(await alerts(3)).toEqual([
        ["2026-06-15", 0.5, 50, 100],
        ["2026-06-15", 0.8, 80, 100],
        ["2026-06-15", 1, 100, 100],
      ]);
      await h.setNow(t, T0 + DAY);
      await Promise.all(Array.from({ length: 16 }, () => check(5)));
      const next = await alerts(5);
      expect(next.slice(3)).toEqual([
        ["2026-06-16", 0.5, 50, 100],
        ["2026-06-16", 0.8, 80, 100],
      ]);
    });

    it("does not fire a threshold twice in a day when a refund takes the count back under it", async () => {
      const { h, t, check, alerts } = await tenant({ burst: 10_000, dailyUnits: 1_000, alerts: { thresholds: [0.8] } });
      const id = reservationOf(await check(900, true));
      expect(await alerts(1)).toEqual([["2026-06-15", 0.8, 900, 1_000]]);
      // Settled to 100: the day is back to 100 used; climbing over 800 again sends nothing new.
      await h.store.settle(t.tenantId, id, 100);
      expect((await check(750)).status).toBe("ok");
      // A report over the quota's 80% crosses nothing new either; a settle that charges more
      // than reserved is what crosses a threshold on its own, checked next.
      expect(await alerts(1)).toHaveLength(1);
      const other = await tenant({ burst: 10_000, dailyUnits: 1_000, alerts: { thresholds: [0.5] } });
      const held = reservationOf(await other.check(10, true));
      await other.h.store.settle(other.t.tenantId, held, 600);
      expect(await other.alerts(1)).toEqual([["2026-06-15", 0.5, 600, 1_000]]);
    });

    it("fires on reported usage, and not at all without a daily quota or thresholds", async () => {
      const { h, t, alerts } = await tenant({ burst: 1, dailyUnits: 200, alerts: { thresholds: [1] } });
      const report = await h.store.record(t.tenantId, {
        keyHash: t.keyHash,
        idempotencyKey: "job-1",
        units: 200,
        route: "chat",
        occurredAt: T0,
      });
      expect(report.status).toBe("recorded");
      expect(await alerts(1)).toEqual([["2026-06-15", 1, 200, 200]]);

      const none = await tenant({ burst: 100, dailyUnits: null, alerts: { thresholds: [0.5] } });
      const quiet = await tenant({ burst: 100, dailyUnits: 10, alerts: { thresholds: [] } });
      for (const x of [none, quiet]) for (let i = 0; i < 3; i++) await x.check(5);
      expect(await none.alerts(0)).toEqual([]);
      expect(await quiet.alerts(0)).toEqual([]);
    });
  });
}
