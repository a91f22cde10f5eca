// The lease holder's test harness: a real memory store (the authority) behind a lease holder
// whose timers run only when a test fires them, on the test's clock.

import { leaseHolder } from "../../src/core/lease-holder";
import type { CheckRequest, LimiterStore } from "../../src/core/limiter-store";
import type { TenantLimits } from "../../src/core/limits";
import { memoryStore } from "../../src/core/memory-store";
import { KEY, manualTimers, T0 } from "./coalescer-harness";
import { limits as baseLimits } from "./test-limits";

export { KEY, T0 };

export const TENANT = "tnaaaaaaaaaaaaaaal";
export const TTL_MS = 60_000;

export async function setup(
  l: Partial<TenantLimits>,
  options: {
    /** Whether a report, once applied, loses its answer (the holder sees an error). */
    reportFails?: () => boolean;
    /** Whether a report fails before it reaches the authority. */
    reportUnreachable?: () => boolean;
    /** Whether a check that asked for a lease, once applied, loses its answer. */
    leaseCheckFails?: () => boolean;
    detached?: boolean;
  } = {},
) {
  const clock = { ms: T0 };
  const memory = memoryStore({ now: () => clock.ms, reservationTtlMs: TTL_MS });
  const limits = { ...baseLimits(), ...l };
  await memory.apply({ tenantId: TENANT, version: 1, status: "active", limits, keyHashes: [KEY] });
  const calls = { check: 0, ask: 0, report: 0 };
  const authority: LimiterStore = {
    check: async (t, r) => {
      calls.check++;
      if (r.lease) calls.ask++;
      const result = await memory.check(t, r);
      if (r.lease && options.leaseCheckFails?.()) throw new Error("limiter check timed out");
      return result;
    },
    settle: (t, id, u, m, d) => memory.settle(t, id, u, m, d),
    record: (t, r) => memory.record(t, r),
    limits: (t, r) => memory.limits(t, r),
    apply: (s) => memory.apply(s),
    reportLease: async (t, r) => {
      calls.report++;
      if (options.reportUnreachable?.()) throw new Error("connection refused");
      const result = await memory.reportLease(t, r);
      // Applied, and then the answer lost: the holder must send it again, once applied.
      if (options.reportFails?.()) throw new Error("connection reset");
      return result;
    },
  };
  const timers = manualTimers();
  const failures: string[] = [];
  const holder = leaseHolder(authority, {
    now: () => clock.ms,
    setTimer: timers.setTimer,
    detached: options.detached,
    onReportFailure: (_t, e) => failures.push(e.message),
  });
  const check = (r: Partial<CheckRequest> = {}) =>
    holder.check(TENANT, { keyHash: KEY, route: "chat", defaultCost: 1, ...r });
  const remaining = async () => {
    const r = await memory.limits(TENANT, { keyHash: KEY, routes: ["chat"] });
    if (r.status !== "ok") throw new Error(r.status);
    return { chat: r.limits.buckets.find((b) => b.name === "chat")?.remaining, daily: r.limits.daily.remaining };
  };
  const billed = () => memory.drainUsage();
  return { clock, memory, holder, calls, timers, failures, check, remaining, billed, limits };
}

export const allowed = (r: Awaited<ReturnType<LimiterStore["check"]>>) => r.status === "ok" && r.decision.allowed;
