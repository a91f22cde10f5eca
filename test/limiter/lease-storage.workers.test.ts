// The TenantLimiter's leases in its storage: an object from before leases gains their table
// in place, and the alarm is set for a lease's hold as for a reservation's expiry. What a
// lease does is the conformance suite's (conformance/lease-conformance.ts).

import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LEASE_TERM_MS } from "../../src/core/lease";
import { newLeaseId } from "../../src/core/lease-grant";
import { MIGRATIONS } from "../../src/durable/limiter-schema";
import { LimiterStorage } from "../../src/durable/limiter-storage";
import type { TenantLimiter } from "../../src/tenant-limiter";
import { limiterStub } from "../support/workers/helpers";
import { limitsOf, T0 } from "./conformance/limiter-conformance";

const TTL_MS = 900_000;

describe("TenantLimiter leases in storage", () => {
  it("an object at the schema before leases gains their table, keeping what it held", async () => {
    const rows = await runInDurableObject(limiterStub("tnleaseupgrade00001"), (_: TenantLimiter, state) => {
      const sql = state.storage.sql;
      // As an object written at schema 4 left its storage.
      for (const migration of MIGRATIONS.slice(0, 4)) sql.exec(migration);
      sql.exec("INSERT INTO meta (k, v) VALUES ('schema', '4')");
      sql.exec(
        `INSERT INTO reservations (id, route, units, bucket_ticks, day, expires_at)
         VALUES ('r1', 'chat', 5, 0, '2026-06-15', ?)`,
        T0 + 50,
      );
      const storage = new LimiterStorage(sql);
      const before = storage.nextExpiry();
      const lease = { id: "ls_1", route: "chat", units: 7, requests: 3, day: "2026-06-15", grantedAt: T0, seq: 0 };
      storage.insertLease({ ...lease, holdUntil: T0 + 20 });
      return {
        schema: sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'schema'").one().v,
        before,
        after: storage.nextExpiry(),
        lease: storage.lease("ls_1"),
        expired: storage.takeExpiredLeases(T0 + 20).map((l) => l.id),
        left: storage.lease("ls_1"),
      };
    });
    expect(rows.schema).toBe(String(MIGRATIONS.length));
    expect(rows.before).toBe(T0 + 50);
    expect(rows.after).toBe(T0 + 20);
    expect(rows.lease).toEqual({
      id: "ls_1",
      route: "chat",
      units: 7,
      requests: 3,
      day: "2026-06-15",
      grantedAt: T0,
      holdUntil: T0 + 20,
      seq: 0,
    });
    expect(rows.expired).toEqual(["ls_1"]);
    expect(rows.left).toBeNull();
  });

  it("refuses a bad ask or report itself with a RangeError, as it does a bad cost, changing nothing", async () => {
    const tenantId = "tnleaserange0000001";
    const stub = limiterStub(tenantId);
    await stub.apply({ tenantId, version: 1, status: "active", limits: limitsOf({ leases: true }), keyHashes: [] });
    // In the object, not through durableObjectStore, which refuses both before the round trip.
    const failures = await runInDurableObject(stub, async (instance: TenantLimiter) => {
      const failure = (p: Promise<unknown>) =>
        p.then(
          () => null,
          (err: unknown) => err,
        );
      return [
        await failure(instance.check({ route: "chat", cost: 1, lease: { id: newLeaseId(), units: 1, requests: -1 } })),
        await failure(instance.reportLease({ leaseId: "ls_x", seq: 0, calls: [] })),
      ];
    });
    for (const err of failures) expect(err).toBeInstanceOf(RangeError);
    const r = await stub.check({ route: "chat", cost: 0 });
    expect(r.status === "ok" && r.decision.policies.find((p) => p.name === "chat")?.remaining).toBe(100);
    expect(await stub.reportLease({ leaseId: "ls_x", seq: 1, calls: [] })).toEqual({ status: "unknown" });
  });

  // The event of a lease whose hold ran out is the conformance suite's.
  it("sets the alarm for a lease's hold, and the alarm lets the lease go once the hold is past", async () => {
    const tenantId = "tnleasealarm0000001";
    const stub = limiterStub(tenantId);
    const limits = limitsOf({ burst: 100, leases: true });
    await stub.apply({ tenantId, version: 1, status: "active", limits, keyHashes: [] });
    await runInDurableObject(stub, (instance: TenantLimiter) => {
      instance.clock = () => T0;
    });
    const r = await stub.check({ route: "chat", cost: 1, lease: { id: newLeaseId(), units: 10, requests: 10 } });
    if (r.status !== "ok" || !r.lease) throw new Error(`expected a lease, got ${JSON.stringify(r)}`);
    // The alarm's work at T0 sends the call's event and leaves the lease: the next alarm is its hold.
    const next = await runInDurableObject(stub, async (instance: TenantLimiter, state) => {
      await instance.alarm();
      return { at: await state.storage.getAlarm(), now: Date.now() };
    });
    expect(next.at).not.toBeNull();
    expect((next.at as number) - next.now).toBeGreaterThan(LEASE_TERM_MS + TTL_MS - 60_000);
    expect((next.at as number) - next.now).toBeLessThanOrEqual(LEASE_TERM_MS + TTL_MS);
    const swept = await runInDurableObject(stub, async (instance: TenantLimiter, state) => {
      instance.clock = () => T0 + LEASE_TERM_MS + TTL_MS;
      const leases = () => state.storage.sql.exec("SELECT id FROM leases").toArray().length;
      const held = leases();
      await instance.alarm();
      return { held, after: leases() };
    });
    expect(swept).toEqual({ held: 1, after: 0 });
  });
});
