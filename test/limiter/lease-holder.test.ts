// The lease holder around a real memory store (the authority): a hot tenant in lease mode is
// admitted mostly without a round trip, every call is billed once with its own units, what a
// lease leaves goes back, suspension reaches the holder within a term, a failed report is
// sent again and applied once, and a holder that vanishes is billed what its lease held.
// Timers run only when a test fires them; the clock is the test's.

import { describe, expect, it } from "vitest";
import { LEASE_TERM_MS } from "../../src/core/lease";
import { leaseHolder } from "../../src/core/lease-holder";
import type { LimiterStore } from "../../src/core/limiter-store";
import { allowed, KEY, setup, TENANT, TTL_MS } from "./lease-harness";

describe("lease holder", () => {
  it("checks every call of a tenant in exact mode, and leases nothing", async () => {
    const { check, calls, holder, billed } = await setup({ burst: 1_000 });
    for (let i = 0; i < 20; i++) expect(allowed(await check())).toBe(true);
    expect(calls.check).toBe(20);
    expect(holder.held()).toBe(0);
    expect(billed()).toHaveLength(20);
  });

  it("asks for a lease for an exact tenant's busy key once a term, and leases it within a term of lease mode", async () => {
    const { check, calls, clock, memory, limits } = await setup({ burst: 1_000 });
    for (let i = 0; i < 20; i++) expect(allowed(await check())).toBe(true);
    // The fourth call asks, gets none, and the key's calls ask no more within the term.
    expect(calls.ask).toBe(1);
    clock.ms += LEASE_TERM_MS;
    for (let i = 0; i < 20; i++) await check();
    expect(calls.ask).toBe(2);
    expect(calls.check).toBe(40);
    // Switched to lease mode: a term later, the key's calls are admitted from a lease.
    await memory.apply({
      tenantId: TENANT,
      version: 2,
      status: "active",
      limits: { ...limits, leases: true },
      keyHashes: [KEY],
    });
    clock.ms += LEASE_TERM_MS;
    for (let i = 0; i < 20; i++) expect(allowed(await check())).toBe(true);
    // The fourth call's check asks, and gets, a lease that admits the rest.
    expect(calls.check).toBeLessThanOrEqual(40 + 4);
  });

  it("leases a short burst at most four times what it used, leaving the rest to another holder", async () => {
    const { check, clock, memory } = await setup({ burst: 40, dailyUnits: 1_000, leases: true });
    // Four calls within 4 ms: the fourth asks for a lease of 4 x 1,000 / 250 = 16 calls.
    for (let i = 0; i < 4; i++) {
      expect(allowed(await check())).toBe(true);
      clock.ms += 1;
    }
    // Another holder of the same tenant, key and route (another isolate), 5 ms later.
    clock.ms += 5;
    const other = leaseHolder(memory, { now: () => clock.ms, setTimer: () => () => {} });
    let admitted = 0;
    for (let i = 0; i < 30; i++) {
      const r = await other.check(TENANT, { keyHash: KEY, route: "chat", defaultCost: 1 });
      if (allowed(r)) admitted++;
    }
    // 40 less the first holder's 4 calls and its lease of 16: 20 (the bucket does not refill).
    expect(admitted).toBe(20);
  });

  it("admits a hot tenant's calls from leases, billing each call once at its own units", async () => {
    const { check, calls, timers, billed, remaining, clock } = await setup({
      burst: 1_000,
      dailyUnits: 10_000,
      leases: true,
    });
    for (let i = 0; i < 200; i++) {
      clock.ms += 2;
      expect(allowed(await check({ cost: 1 + (i % 3), metadata: { n: i } }))).toBe(true);
    }
    // Leases are sized to the demand: after the first few calls, checks are a small part.
    expect(calls.check).toBeLessThan(40);
    // The live lease's calls are reported when its term ends; what it left goes back then.
    clock.ms += LEASE_TERM_MS;
    await timers.fire();
    await timers.fire();
    // A report per lease, and one round trip more for the lease that filled a report first.
    expect(calls.report).toBeLessThanOrEqual(calls.check + 1);
    const events = billed();
    expect(events).toHaveLength(200);
    expect(events.map((e) => e.metadata?.n).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    );
    const units = events.reduce((sum, e) => sum + e.units, 0);
    expect(units).toBe(Array.from({ length: 200 }, (_, i) => 1 + (i % 3)).reduce((a, b) => a + b));
    expect((await remaining()).daily).toBe(10_000 - units);
  });

  it("never admits more than the bucket allows, and gives back what a lease did not use", async () => {
    const { check, timers, remaining, clock, billed } = await setup({ burst: 50, ratePerMinute: 0, leases: true });
    let admitted = 0;
    for (let i = 0; i < 120; i++) {
      clock.ms += 1;
      if (allowed(await check({ cost: 1 }))) admitted++;
    }
    expect(admitted).toBeLessThanOrEqual(50);
    expect(admitted).toBeGreaterThanOrEqual(45);
    clock.ms += LEASE_TERM_MS;
    await timers.fire();
    await timers.fire();
    expect((await remaining()).chat).toBe(50 - admitted);
    expect(billed()).toHaveLength(admitted);
  });

  it("settles a reserved call from a lease at its actual units and tokens, charging a call above its estimate", async () => {
    const { check, holder, timers, billed, remaining, clock } = await setup({ burst: 1_000, leases: true });
    for (let i = 0; i < 6; i++) await holder.settle(TENANT, reservation(await check({ cost: 10, reserve: true })), 10);
    const r = await check({ cost: 10, reserve: true, model: "m-1" });
    const id = reservation(r);
    expect(id.startsWith("ls_")).toBe(true);
    expect(
      await holder.settle(TENANT, id, 25, { done: true }, { model: "m-1", inputTokens: 20, outputTokens: 5 }),
    ).toEqual({ status: "settled", units: 25 });
    clock.ms += LEASE_TERM_MS;
    await timers.fire();
    await timers.fire();
    const events = billed();
    const last = events.find((e) => e.metadata?.done === true);
    expect(last).toMatchObject({ units: 25, model: "m-1", inputTokens: 20, outputTokens: 5 });
    expect(events.reduce((sum, e) => sum + e.units, 0)).toBe(6 * 10 + 25);
    expect((await remaining()).chat).toBe(1_000 - 85);
  });

  it("refuses a call within a term of the tenant's suspension, at most", async () => {
    const { check, memory, clock, limits } = await setup({ burst: 1_000, leases: true });
    // A busy term first, so that the lease outlasts the slower calls after the suspension.
    for (let i = 0; i < 300; i++) {
      clock.ms += 1;
      await check();
    }
    await memory.apply({ tenantId: TENANT, version: 2, status: "suspended", limits, keyHashes: [KEY] });
    const suspendedAt = clock.ms;
    let lastAdmitted = suspendedAt;
    let admittedAfter = 0;
    for (let i = 0; i < 40; i++) {
      clock.ms += 250;
      const r = await check();
      if (allowed(r)) {
        lastAdmitted = clock.ms;
        admittedAfter++;
      } else expect(r.status).toBe("suspended");
    }
    // The lease held at the suspension admits on until its term ends, and no longer.
    expect(admittedAfter).toBeGreaterThan(0);
    expect(lastAdmitted - suspendedAt).toBeLessThanOrEqual(LEASE_TERM_MS);
    expect(allowed(await check())).toBe(false);
  });

  it("reaches a lease sized to traffic that starts hot within a few round trips", async () => {
    // 10 calls a ms from the first: leases sized by the rate so far reach the traffic's in
    // three renewals, where leases sized by the calls counted so far doubled up to it in
    // eight (12 checks in all).
    const { check, calls, clock } = await setup({ burst: 1_000_000, dailyUnits: 1_000_000, leases: true });
    for (let i = 0; i < 2_000; i++) {
      if (i % 10 === 0) clock.ms += 1;
      expect(allowed(await check())).toBe(true);
    }
    // The first LEASE_MIN_CALLS calls are exact; then a lease of 40, 440 and 4,840 calls.
    expect(calls.check).toBeLessThanOrEqual(4 + 3);
  });

  it("sends a report whose answer was lost again, and it is applied once", async () => {
    let fail = true;
    const { check, timers, billed, failures, clock } = await setup(
      { burst: 1_000, leases: true },
      { reportFails: () => fail },
    );
    for (let i = 0; i < 10; i++) await check();
    // The first fire ends the lease's term; the second sends its report, which fails.
    await timers.fire();
    await timers.fire();
    expect(failures.length).toBeGreaterThan(0);
    fail = false;
    clock.ms += LEASE_TERM_MS;
    for (let i = 0; i < 4; i++) await timers.fire();
    expect(billed()).toHaveLength(10);
  });

  it("bills what a vanished holder's lease held, once its hold runs out", async () => {
    const { check, memory, clock, billed } = await setup({ burst: 1_000, leases: true });
    for (let i = 0; i < 8; i++) await check();
    const exact = billed().length;
    // The holder is gone: no report, no close. The authority records what the lease held.
    clock.ms += LEASE_TERM_MS + TTL_MS + 1;
    memory.sweep();
    const late = billed();
    const admittedLocally = 8 - exact;
    expect(admittedLocally).toBeGreaterThan(0);
    expect(late.length).toBeGreaterThanOrEqual(1);
    expect(late.every((e) => e.estimated === true)).toBe(true);
    expect(late.reduce((sum, e) => sum + e.units, 0)).toBeGreaterThanOrEqual(admittedLocally);
  });

  it("forgets a lease the authority no longer holds: a call settled after its hold is unknown, billed once at its estimate", async () => {
    const { check, holder, memory, clock, billed } = await setup({ burst: 1_000, leases: true });
    for (let i = 0; i < 4; i++) await check({ cost: 10 });
    const r = await check({ cost: 7, reserve: true });
    const id = r.status === "ok" ? r.reservation?.id : undefined;
    expect(id?.startsWith("ls_")).toBe(true);
    // The reply never ends: its lease's hold runs out, and the authority records what the lease held.
    clock.ms += LEASE_TERM_MS + TTL_MS + 1;
    memory.sweep();
    // The next call's renewal sweeps the holder: the lease is forgotten, with its local reservation.
    for (let i = 0; i < 4; i++) await check();
    expect(await holder.settle(TENANT, id as string, 3)).toEqual({ status: "unknown" });
    await holder.closeAll();
    const events = billed();
    // The seven units reserved from the lease are in its estimated event, not billed again at 3.
    expect(events.some((e) => e.units === 3)).toBe(false);
    expect(events.filter((e) => e.estimated === true).reduce((sum, e) => sum + e.units, 0)).toBeGreaterThanOrEqual(7);
  });

  it("closes a lease whose grant it never heard, so that nothing is billed for it", async () => {
    let fail = true;
    const { check, timers, remaining, clock, memory, billed } = await setup(
      { burst: 1_000, leases: true },
      { leaseCheckFails: () => fail },
    );
    for (let i = 0; i < 3; i++) await check();
    // The fourth call asks for a lease: granted, and the answer lost.
    await expect(check()).rejects.toThrow("timed out");
    fail = false;
    await timers.fire();
    // The close gave back all the lease took: only the calls themselves are counted.
    expect((await remaining()).chat).toBe(1_000 - 4);
    clock.ms += LEASE_TERM_MS + TTL_MS + 1;
    memory.sweep();
    expect(billed().filter((e) => e.estimated === true)).toEqual([]);
  });

  it("closes every lease on closeAll, giving back what it held", async () => {
    const { check, holder, remaining, billed } = await setup({ burst: 1_000, leases: true });
    for (let i = 0; i < 12; i++) await check();
    expect(holder.held()).toBeGreaterThan(0);
    await holder.closeAll();
    expect(holder.held()).toBe(0);
    expect(billed()).toHaveLength(12);
    expect((await remaining()).chat).toBe(1_000 - 12);
  });
});

function reservation(r: Awaited<ReturnType<LimiterStore["check"]>>): string {
  if (r.status !== "ok" || !r.reservation) throw new Error(`no reservation: ${JSON.stringify(r)}`);
  return r.reservation.id;
}
