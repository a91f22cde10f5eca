// The lease holder in detached mode (Workers): it starts no I/O of its own. The check that gets
// a lease hands back, as its background, the lease's retirement at the end of its term with
// its report; the check that renews hands back the old lease's report; a settle of a leased
// call reports before it resolves. Nothing is billed until a caller lets that work run.

import { describe, expect, it } from "vitest";
import { LEASE_TERM_MS } from "../../src/core/lease";
import type { CheckResult } from "../../src/core/limiter-store";
import { allowed, setup, TENANT, TTL_MS } from "./lease-harness";

const backgroundOf = (r: CheckResult) => (r.status === "ok" ? r.background : undefined);

describe("lease holder, detached", () => {
  it("hands the lease's retirement and report to the check that got it", async () => {
    const { check, calls, timers, billed, remaining, clock } = await setup(
      { burst: 1_000, leases: true },
      {
        detached: true,
      },
    );
    const results: CheckResult[] = [];
    for (let i = 0; i < 8; i++) results.push(await check());
    expect(results.every(allowed)).toBe(true);
    const backgrounds = results.map(backgroundOf).filter((b) => b !== undefined);
    // The fourth call's check got a lease of four (its scope's demand so far), which admitted
    // the next four: that check alone carries background work, the lease's term end.
    expect(backgrounds).toHaveLength(1);
    expect(backgroundOf(results[3] as CheckResult)).toBeDefined();
    expect(calls.check).toBe(4);
    expect(calls.report).toBe(0);
    // The caller's waitUntil lets it run: at the term's end the lease reports and closes.
    clock.ms += LEASE_TERM_MS;
    let done = false;
    const finished = (backgrounds[0] as Promise<void>).then(() => {
      done = true;
    });
    while (!done) await timers.fire();
    await finished;
    expect(calls.report).toBe(1);
    expect(billed()).toHaveLength(8);
    expect((await remaining()).chat).toBe(1_000 - 8);
  });

  it("hands the old lease's report to the check that renews, and reports a late settle before resolving", async () => {
    const { check, holder, calls, timers, billed } = await setup({ burst: 1_000, leases: true }, { detached: true });
    for (let i = 0; i < 4; i++) await check({ cost: 1 });
    // Reserved calls from the lease, one of them still in flight when the lease runs short.
    const first = await check({ cost: 1, reserve: true });
    const id = first.status === "ok" ? first.reservation?.id : undefined;
    expect(id?.startsWith("ls_")).toBe(true);
    let renewal: CheckResult | undefined;
    for (let i = 0; i < 40 && !renewal; i++) {
      const r = await check({ cost: 1 });
      if (backgroundOf(r)) renewal = r;
    }
    // The renewing check carries the old lease's report (its give-back), and its new lease's term.
    const reportsBefore = calls.report;
    const background = renewal && backgroundOf(renewal);
    expect(background).toBeDefined();
    const running = background?.catch(() => {});
    await timers.fire();
    expect(calls.report).toBeGreaterThan(reportsBefore);
    // The in-flight call settles after its lease retired: the settle itself sends the close.
    const reportsAtSettle = calls.report;
    expect(await holder.settle(TENANT, id as string, 3)).toEqual({ status: "settled", units: 3 });
    expect(calls.report).toBe(reportsAtSettle + 1);
    expect(billed().some((e) => e.units === 3)).toBe(true);
    void running;
  });

  it("sends a report that failed every try again from a later call's request", async () => {
    let failing = true;
    const { check, timers, billed, clock, memory } = await setup(
      { burst: 1_000, leases: true },
      { detached: true, reportUnreachable: () => failing },
    );
    const results: CheckResult[] = [];
    for (let i = 0; i < 8; i++) results.push(await check());
    const granted = results.map(backgroundOf).find((b) => b !== undefined);
    expect(granted).toBeDefined();
    // The term ends; the report fails every try, reaching nothing.
    clock.ms += LEASE_TERM_MS;
    await runToEnd(granted as Promise<void>, timers.fire);
    failing = false;
    // A second later, a call's renewal picks the failed lease up, in its own request's work.
    clock.ms += LEASE_TERM_MS;
    const later: CheckResult[] = [];
    for (let i = 0; i < 8; i++) later.push(await check());
    for (const b of later.map(backgroundOf)) if (b) await runToEnd(b, timers.fire);
    // Every call billed once, at its own units; once the holds run out, none is recorded at
    // its lease's estimate (the leases were all closed).
    clock.ms += LEASE_TERM_MS + TTL_MS + 1;
    memory.sweep();
    const events = billed();
    expect(events.filter((e) => e.estimated === true)).toEqual([]);
    expect(events).toHaveLength(16);
  });
});

/** Lets background work finish, firing the timers it waits on. */
async function runToEnd(work: Promise<void>, fire: () => Promise<void>): Promise<void> {
  let done = false;
  const finished = work.then(() => {
    done = true;
  });
  for (let i = 0; i < 50 && !done; i++) await fire();
  await finished;
}
