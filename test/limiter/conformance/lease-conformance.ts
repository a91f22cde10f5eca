// The conformance suite's part for token leases, the authority's side: a lease granted with a
// check takes from every policy of the call, its reports become usage events once, what it
// gives back or still holds at its close goes back, and a lease never closed is recorded at
// what it held. A backend without leases is held to ignoring the ask, so turning them on
// means turning this on.

import { describe, expect, it } from "vitest";
import { newLeaseId } from "../../../src/core/lease-grant";
import type { CheckRequest, CheckResult, LeaseReport } from "../../../src/core/limiter-store";
import type { TenantLimits } from "../../../src/core/limits";
import { decisionOf, policy } from "./check-results";
import { type ConformanceHarness, limitsOf, T0 } from "./limiter-conformance";

/** An ask, with a new lease id as a holder chooses one. */
const ask = (units: number, requests: number) => ({ id: newLeaseId(), units, requests });

function leaseOf(r: CheckResult) {
  if (r.status !== "ok" || !r.lease) throw new Error(`expected a lease, got ${JSON.stringify(r)}`);
  return r.lease;
}

export function leaseConformance(backend: string, harness: () => ConformanceHarness, has: boolean): void {
  describe(`limiter conformance, leases: ${backend}`, () => {
    async function tenant(l: Partial<TenantLimits>, now = T0) {
      const h = harness();
      const t = await h.createTenant(limitsOf(l));
      await h.setNow(t, now);
      const check = (r: Partial<CheckRequest> = {}) =>
        h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", ...r });
      const report = (r: LeaseReport) => {
        if (!h.store.reportLease) throw new Error(`${backend} has no reportLease`);
        return h.store.reportLease(t.tenantId, r);
      };
      const remaining = async (name: string) => {
        const r = await h.store.limits(t.tenantId, { keyHash: t.keyHash, routes: ["chat"] });
        if (r.status !== "ok") throw new Error(`limits: ${r.status}`);
        if (name === "daily") return r.limits.daily.remaining;
        return r.limits.buckets.find((p) => p.name === name)?.remaining;
      };
      return { h, t, check, report, remaining };
    }

    it("grants no lease to a tenant in exact mode, and the check is as it would be without the ask", async () => {
      const { check, remaining } = await tenant({ burst: 100 });
      const r = await check({ cost: 10, lease: ask(50, 5) });
      expect(decisionOf(r).allowed).toBe(true);
      expect(r.status === "ok" && r.lease).toBeFalsy();
      expect(await remaining("chat")).toBe(90);
    });

    if (!has) {
      it("has no reportLease", () => {
        expect(harness().store.reportLease).toBeUndefined();
      });
      return;
    }

    it("leases from the scarcest policy, after the call, and takes the lease from every policy", async () => {
      const { check, remaining } = await tenant({ burst: 100, requestBurst: 6, dailyUnits: 70, leases: true });
      const r = await check({ cost: 10, lease: ask(500, 500) });
      // The call took 10 units and 1 request; the day leaves 60 units, the request bucket 5.
      expect(decisionOf(r).allowed).toBe(true);
      const lease = leaseOf(r);
      expect(lease).toMatchObject({ units: 60, requests: 5, routeCost: 1 });
      expect(lease.termMs).toBeGreaterThan(0);
      expect(await remaining("chat")).toBe(30);
      expect(await remaining("chat/requests")).toBe(0);
      expect(await remaining("daily")).toBe(0);
      // What the lease holds is taken: an exact call finds nothing.
      expect(decisionOf(await check({ cost: 1 })).allowed).toBe(false);
    });

    it("grants no lease in shadow mode, on a route with a calls-in-flight cap, or to a refused call", async () => {
      const shadow = await tenant({ burst: 100, leases: true, shadow: true });
      expect(leaseOrNone(await shadow.check({ cost: 1, lease: ask(5, 5) }))).toBeUndefined();
      const capped = await tenant({ burst: 100, leases: true, maxConcurrent: 4 });
      expect(leaseOrNone(await capped.check({ cost: 1, lease: ask(5, 5) }))).toBeUndefined();
      const refused = await tenant({ burst: 10, leases: true });
      const r = await refused.check({ cost: 11, lease: ask(5, 5) });
      expect(decisionOf(r).allowed).toBe(false);
      expect(leaseOrNone(r)).toBeUndefined();
      expect(await refused.remaining("chat")).toBe(10);
    });

    it("records each reported call once, a retried report being a duplicate", async () => {
      const { h, t, check, report } = await tenant({ burst: 100, leases: true });
      const lease = leaseOf(await check({ cost: 1, lease: ask(20, 20) }));
      const calls = [
        { units: 3, occurredAt: T0 + 5, metadata: { job: "a" } },
        { units: 4, occurredAt: T0 + 6, usage: { model: "m-1", inputTokens: 3, outputTokens: 1 } },
      ];
      expect(await report({ leaseId: lease.id, seq: 1, calls })).toEqual({ status: "reported" });
      expect(await report({ leaseId: lease.id, seq: 1, calls })).toEqual({ status: "duplicate" });
      const events = (await h.events(t, 3)).sort((a, b) => a.occurredAt - b.occurredAt);
      expect(events.map((e) => [e.units, e.occurredAt, e.route])).toEqual([
        [1, T0, "chat"],
        [3, T0 + 5, "chat"],
        [4, T0 + 6, "chat"],
      ]);
      expect(events[1]?.metadata).toEqual({ job: "a" });
      expect(events[2]).toMatchObject({ model: "m-1", inputTokens: 3, outputTokens: 1 });
    });

    it("gives back what is given back, and at its close what it still holds", async () => {
      const { h, t, check, report, remaining } = await tenant({ burst: 100, dailyUnits: 1_000, leases: true });
      const lease = leaseOf(await check({ cost: 10, lease: ask(50, 50) }));
      expect(await remaining("chat")).toBe(40);
      const calls = [{ units: 5, occurredAt: T0 }];
      await report({ leaseId: lease.id, seq: 1, calls, giveBack: { units: 20, requests: 0 } });
      expect(await remaining("chat")).toBe(60);
      expect(await remaining("daily")).toBe(1_000 - 10 - 5 - 25);
      expect(await report({ leaseId: lease.id, seq: 2, calls: [], close: true })).toEqual({ status: "reported" });
      // Of the 50 leased, 5 were used: the bucket and the day hold the rest again.
      expect(await remaining("chat")).toBe(85);
      expect(await remaining("daily")).toBe(1_000 - 15);
      expect(await report({ leaseId: lease.id, seq: 3, calls: [], close: true })).toEqual({ status: "unknown" });
      expect((await h.events(t, 2)).map((e) => e.units).sort((a, b) => a - b)).toEqual([5, 10]);
    });

    it("charges calls that used more than the lease held, as a settle above its estimate is", async () => {
      const { check, report, remaining } = await tenant({ burst: 100, dailyUnits: 1_000, leases: true });
      const lease = leaseOf(await check({ cost: 10, lease: ask(20, 5) }));
      await report({ leaseId: lease.id, seq: 1, calls: [{ units: 50, occurredAt: T0 }], close: true });
      // 10 for the call, 50 for the leased call: 30 more than the lease held.
      expect(await remaining("daily")).toBe(1_000 - 60);
      expect(await remaining("chat")).toBe(40);
    });

    it("records a lease never closed at what it still held once its hold runs out", async () => {
      const { h, t, check, report } = await tenant({ burst: 100, leases: true });
      const lease = leaseOf(await check({ cost: 1, lease: ask(30, 30) }));
      await report({ leaseId: lease.id, seq: 1, calls: [{ units: 4, occurredAt: T0 + 1 }] });
      await h.setNow(t, T0 + lease.termMs + h.reservationTtlMs + 1);
      await h.sweep(t);
      const events = await h.events(t, 3);
      const held = events.find((e) => e.units === 26);
      expect(held).toMatchObject({ estimated: true, route: "chat", occurredAt: T0 });
      expect(await report({ leaseId: lease.id, seq: 2, calls: [{ units: 1, occurredAt: T0 }] })).toEqual({
        status: "unknown",
      });
      expect((await h.events(t, 3)).length).toBe(3);
    });

    it("ends a lease's term at the tenant's midnight, and grants none just before it", async () => {
      const midnight = Date.UTC(2026, 5, 16);
      const near = await tenant({ burst: 100, leases: true }, midnight - 400);
      const lease = leaseOf(await near.check({ cost: 1, lease: ask(10, 10) }));
      expect(lease.termMs).toBeLessThanOrEqual(400);
      expect(lease.termMs).toBeGreaterThan(0);
      const nearer = await tenant({ burst: 100, leases: true }, midnight - 50);
      const r = await nearer.check({ cost: 1, lease: ask(10, 10) });
      expect(decisionOf(r).allowed).toBe(true);
      expect(leaseOrNone(r)).toBeUndefined();
      expect(await nearer.remaining("chat")).toBe(99);
    });

    it("grants nothing more for an id already held, and takes leases from a key's own buckets too", async () => {
      const { h, t, check, remaining } = await tenant({ burst: 100, leases: true });
      await h.setKeyLimits(t, { burst: 30, ratePerMinute: 0 });
      const again = ask(50, 50);
      const lease = leaseOf(await check({ cost: 1, lease: again }));
      // The key's own bucket (30, less the call's 1) is the scarcest.
      expect(lease.units).toBe(29);
      expect(await remaining("key/chat")).toBe(0);
      expect(await remaining("chat")).toBe(100 - 1 - 29);
      const r = await check({ cost: 0, reserve: true, lease: again });
      expect(leaseOrNone(r)).toBeUndefined();
    });

    it("gives back the calls a lease did not use, and refuses to go back a seq", async () => {
      const { check, report, remaining } = await tenant({ burst: 100, requestBurst: 20, leases: true });
      const lease = leaseOf(await check({ cost: 1, lease: ask(10, 10) }));
      expect(await remaining("chat/requests")).toBe(20 - 1 - 10);
      const calls = [{ units: 2, occurredAt: T0 }];
      expect(await report({ leaseId: lease.id, seq: 2, calls })).toEqual({ status: "reported" });
      expect(await report({ leaseId: lease.id, seq: 1, calls })).toEqual({ status: "duplicate" });
      expect(await report({ leaseId: lease.id, seq: 3, calls: [], close: true })).toEqual({ status: "reported" });
      // One call reported: nine of the ten calls leased go back, and eight of the ten units.
      expect(await remaining("chat/requests")).toBe(20 - 1 - 1);
      expect(await remaining("chat")).toBe(100 - 1 - 2);
    });

    it("takes a report of calls admitted before the tenant was suspended", async () => {
      const { h, t, check, report } = await tenant({ burst: 100, leases: true });
      const lease = leaseOf(await check({ cost: 1, lease: ask(10, 10) }));
      await h.suspend(t);
      const calls = [{ units: 2, occurredAt: T0 }];
      expect(await report({ leaseId: lease.id, seq: 1, calls, close: true })).toEqual({ status: "reported" });
      expect((await h.events(t, 2)).map((e) => e.units).sort((a, b) => a - b)).toEqual([1, 2]);
    });

    it("is no reservation: settling a lease's id answers unknown and leaves the lease as it was", async () => {
      const { h, t, check, report, remaining } = await tenant({ burst: 100, leases: true });
      const lease = leaseOf(await check({ cost: 1, lease: ask(10, 10) }));
      expect(await h.store.settle(t.tenantId, lease.id, 0)).toEqual({ status: "unknown" });
      expect(await remaining("chat")).toBe(89);
      expect(await report({ leaseId: lease.id, seq: 1, calls: [], close: true })).toEqual({ status: "reported" });
      expect(await remaining("chat")).toBe(99);
    });

    it("refuses an ask or a report no holder could make, changing nothing", async () => {
      const { check, report, remaining } = await tenant({ burst: 100, leases: true });
      await expect(check({ cost: 1, lease: ask(-1, 1) })).rejects.toThrow(RangeError);
      const lease = leaseOf(await check({ cost: 1, lease: ask(10, 10) }));
      await expect(report({ leaseId: lease.id, seq: 0, calls: [] })).rejects.toThrow(RangeError);
      await expect(report({ leaseId: lease.id, seq: 1, calls: [{ units: 1.5, occurredAt: T0 }] })).rejects.toThrow(
        RangeError,
      );
      expect(await remaining("chat")).toBe(89);
      expect(policy(decisionOf(await check({ cost: 0 })), "chat")?.remaining).toBe(89);
    });
  });
}

function leaseOrNone(r: CheckResult) {
  return r.status === "ok" ? r.lease : undefined;
}
