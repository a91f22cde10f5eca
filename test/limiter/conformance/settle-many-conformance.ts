// The conformance suite's part for settleMany: one tenant's settles in one round trip. A
// backend that has it (memory, the Durable Object, Redis) runs every behaviour here; one
// that does not is held to not having it, so turning it on means turning this on.

import { describe, expect, it } from "vitest";
import type { SettleItem } from "../../../src/core/limiter-store";
import type { TenantLimits } from "../../../src/core/limits";
import { reservationOf } from "./check-results";
import { type ConformanceHarness, type ConformanceTenant, limitsOf, T0 } from "./limiter-conformance";

const MIDNIGHT = Date.UTC(2026, 5, 16);

export function settleManyConformance(backend: string, harness: () => ConformanceHarness, has: boolean): void {
  describe(`limiter conformance, settleMany: ${backend}`, () => {
    if (!has) {
      it("has no settleMany (settles go one call each)", () => {
        expect(harness().store.settleMany).toBeUndefined();
      });
      return;
    }

    async function tenant(l: Partial<TenantLimits>, now = T0) {
      const h = harness();
      const t = await h.createTenant(limitsOf(l));
      await h.setNow(t, now);
      const reserve = async (cost: number, metadata?: Record<string, string>) =>
        reservationOf(
          await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost, reserve: true, metadata }),
        );
      const settleMany = (items: SettleItem[]) => {
        if (!h.store.settleMany) throw new Error(`${backend} has no settleMany`);
        return h.store.settleMany(t.tenantId, items);
      };
      const limits = async () => {
        const r = await h.store.limits(t.tenantId, { keyHash: t.keyHash, routes: ["chat"] });
        if (r.status !== "ok") throw new Error(`limits: ${r.status}`);
        const { tenantId, ...figures } = r.limits;
        return figures;
      };
      return { h, t, reserve, settleMany, limits };
    }

    /** What a tenant has been billed and alerted, without the ids that differ between tenants. */
    async function emitted(h: ConformanceHarness, t: ConformanceTenant, events: number, alerts: number) {
      const e = (await h.events(t, events)).map(({ eventId, tenantId, ...rest }) => rest);
      const a = (await h.alerts(t, alerts)).map(({ tenantId, ...rest }) => rest);
      const byTime = (x: { occurredAt: number; units: number }, y: { occurredAt: number; units: number }) =>
        x.occurredAt - y.occurredAt || x.units - y.units;
      return { events: e.sort(byTime), alerts: a.sort((x, y) => x.threshold - y.threshold) };
    }

    /**
     * Two tenants with the same limits and the same reservations, made at `reservedAt`; at
     * `settledAt` one settles them in one batch, the other one by one. Everything is compared.
     */
    async function batchEqualsSequence(reservedAt: number, settledAt: number, actuals: number[], alerts: number) {
      const l = { burst: 1_000, dailyUnits: 400, alerts: { thresholds: [0.5, 0.8, 1] } };
      const batch = await tenant(l, reservedAt);
      const sequence = await tenant(l, reservedAt);
      const costs = [60, 10, 90, 30, 50];
      const meta = (i: number) => ({ job: `j${i}` });
      const a = await Promise.all(costs.map((c, i) => batch.reserve(c, meta(i))));
      const b = await Promise.all(costs.map((c, i) => sequence.reserve(c, meta(i))));
      await batch.h.setNow(batch.t, settledAt);
      await sequence.h.setNow(sequence.t, settledAt);
      // A duplicate (answered "unknown" the second time) and an id never issued, in the middle.
      const items = (ids: string[]): SettleItem[] => [
        ...actuals.map((units, i) => ({
          reservationId: ids[i] as string,
          units,
          metadata: { finish: "stop" },
          usage: { inputTokens: units, outputTokens: 1 },
        })),
        { reservationId: ids[0] as string, units: 1 },
        { reservationId: "never-issued", units: 1 },
      ];
      const many = await batch.settleMany(items(a));
      const one = [];
      for (const i of items(b)) {
        one.push(await sequence.h.store.settle(sequence.t.tenantId, i.reservationId, i.units, i.metadata, i.usage));
      }
      expect(many).toEqual(one);
      expect(many.slice(-2)).toEqual([{ status: "unknown" }, { status: "unknown" }]);
      expect(await batch.limits()).toEqual(await sequence.limits());
      const emittedA = await emitted(batch.h, batch.t, actuals.length, alerts);
      expect(emittedA).toEqual(await emitted(sequence.h, sequence.t, actuals.length, alerts));
      return { many, emitted: emittedA, limits: await batch.limits() };
    }

    it("equals the same settles in sequence: results, limits, events with their dimensions and metadata, alerts", async () => {
      // The reservations take 240 of 400 (0.5 fires); 90→200 takes the day to 400 (0.8 and 1
      // fire), and the last refund takes it back under.
      const { many, emitted: e } = await batchEqualsSequence(T0, T0 + 1_000, [120, 0, 200, 30, 5], 3);
      expect(many.slice(0, 5)).toEqual([120, 0, 200, 30, 5].map((units) => ({ status: "settled", units })));
      expect(e.events.map((x) => [x.units, x.metadata])).toEqual(
        [120, 0, 200, 30, 5].map((u, i) => [u, { job: `j${i}`, finish: "stop" }] as const).sort((x, y) => x[0] - y[0]),
      );
      expect(e.events.every((x) => x.occurredAt === T0)).toBe(true);
      expect(e.alerts.map((a) => a.threshold)).toEqual([0.5, 0.8, 1]);
    });

    it("equals the same settles in sequence across midnight: refunds for the ended day dropped, charges on the new day", async () => {
      const { limits } = await batchEqualsSequence(MIDNIGHT - 10_000, MIDNIGHT + 10_000, [100, 0, 200, 30, 5], 1);
      // Only the charges above the estimates (40 + 110) land, on the new day.
      expect(limits.daily.used).toBe(150);
    });

    it("answers in order a mix of settled, expired and unknown, with a duplicate id in the batch", async () => {
      const { h, t, reserve, settleMany, limits } = await tenant({ burst: 100, dailyUnits: 1_000 });
      const stale = await reserve(12);
      await h.setNow(t, T0 + h.reservationTtlMs / 2);
      const [x, y] = [await reserve(5), await reserve(7)];
      await h.setNow(t, T0 + h.reservationTtlMs);
      const results = await settleMany([
        { reservationId: stale, units: 1 },
        { reservationId: x, units: 3 },
        { reservationId: x, units: 4 },
        { reservationId: "never-issued", units: 1 },
        { reservationId: y, units: 9 },
      ]);
      expect(results).toEqual([
        { status: "expired" },
        { status: "settled", units: 3 },
        { status: "unknown" },
        { status: "unknown" },
        { status: "settled", units: 9 },
      ]);
      // The expired one keeps its estimate; the others are charged what they used.
      expect((await limits()).daily.used).toBe(12 + 3 + 9);
      const events = await h.events(t, 3);
      expect(events.map((e) => [e.units, e.estimated ?? false]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
        [3, false],
        [9, false],
        [12, true],
      ]);
    });

    it("takes an empty batch and a batch of 100", async () => {
      const { h, t, reserve, settleMany, limits } = await tenant({ burst: 1_000, dailyUnits: 10_000 });
      expect(await settleMany([])).toEqual([]);
      const ids = [];
      for (let i = 0; i < 100; i++) ids.push(await reserve(3));
      const results = await settleMany(ids.map((reservationId, i) => ({ reservationId, units: i % 5 })));
      expect(results).toEqual(ids.map((_, i) => ({ status: "settled", units: i % 5 })));
      const used = ids.reduce((sum, _, i) => sum + (i % 5), 0);
      expect((await limits()).daily.used).toBe(used);
      expect((await h.events(t, 100)).length).toBe(100);
    });

    it("refuses a batch over 1,000 items, or with an invalid item, and applies none of it", async () => {
      const { reserve, settleMany, limits } = await tenant({ burst: 100, dailyUnits: 1_000 });
      const held = await reserve(10);
      const over = Array.from({ length: 1_001 }, (_, i) => ({ reservationId: i === 0 ? held : `r${i}`, units: 1 }));
      await expect(settleMany(over)).rejects.toThrow(/1,?000/);
      await expect(
        settleMany([
          { reservationId: held, units: 2 },
          { reservationId: "x", units: -1 },
        ]),
      ).rejects.toThrow();
      // Still held, at its estimate: a settle after that finds it.
      expect((await limits()).daily.used).toBe(10);
      expect(await settleMany([{ reservationId: held, units: 4 }])).toEqual([{ status: "settled", units: 4 }]);
      expect((await limits()).daily.used).toBe(4);
    });
  });
}
