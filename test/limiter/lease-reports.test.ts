// A lease's reports as its holder sends them (lease-reports.ts) against a real memory store:
// two sends of one lease can overlap when the first is taken for lost (a Worker's request that
// seemed to die) and then answered after the one that replaced it. Every call is still
// billed once: the seq never goes back, so no later report reuses one already applied.

import { describe, expect, it } from "vitest";
import { newLeaseId } from "../../src/core/lease-grant";
import { heldLease, NO_DECISION, sendReports } from "../../src/core/lease-reports";
import type { LeaseReport } from "../../src/core/limiter-store";
import { memoryStore } from "../../src/core/memory-store";
import { KEY, T0 } from "./coalescer-harness";
import { limits } from "./test-limits";

const TENANT = "tnaaaaaaaaaaaaaals";

describe("lease reports", () => {
  it("bills every call once when a report's answer comes after the send that replaced it", async () => {
    const memory = memoryStore({ now: () => T0 });
    await memory.apply({
      tenantId: TENANT,
      version: 1,
      status: "active",
      limits: limits({ leases: true }),
      keyHashes: [KEY],
    });
    const ask = { id: newLeaseId(), units: 50, requests: 50 };
    const r = await memory.check(TENANT, { keyHash: KEY, route: "chat", cost: 1, lease: ask });
    if (r.status !== "ok" || !r.lease) throw new Error("no lease");
    const lease = heldLease(TENANT, T0, r.lease, NO_DECISION);
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Applied at once, answered only when released.
    const slow = async (t: string, report: LeaseReport) => {
      const result = await memory.reportLease(t, report);
      await released;
      return result;
    };
    const fast = (t: string, report: LeaseReport) => memory.reportLease(t, report);

    lease.calls.add(2, T0);
    const first = sendReports(lease, slow);
    // Taken for lost: sent again (a duplicate), then the next call's report goes.
    lease.calls.add(3, T0);
    await sendReports(lease, fast);
    // The first answer arrives last, with a call still to report.
    lease.calls.add(5, T0);
    release();
    await first;
    await sendReports(lease, fast);
    const units = memory.drainUsage().map((e) => e.units);
    expect(units.sort((a, b) => a - b)).toEqual([1, 2, 3, 5]);
    expect(lease.seq).toBe(3);
  });
});
