// The TenantLimiter's token leases, with the memory store's semantics (core/memory-leases.ts)
// and lease-grant.ts's arithmetic: granted with a check admitted outright, reported and
// closed by their holder (each report one transaction, applied once per seq), and recorded
// by the alarm at what they still hold once their hold runs out unclosed, as an unsettled
// reservation is recorded at its estimate. The leases live in the `leases` table, so they
// outlast an eviction like the reservations do.

import { applyLeaseReport, assertLeaseReport, planLease } from "../core/lease-grant";
import type { LimiterState } from "../core/limiter";
import type { CheckRequest, Lease, LeaseReport, LeaseReportResult } from "../core/limiter-store";
import type { TenantLimits } from "../core/limits";
import { stateWithAlerts } from "../core/quota-alerts";
import { estimatedDimensions } from "../core/usage-dimensions";
import type { AlarmSchedule } from "./alarm-schedule";
import type { LimiterStorage } from "./limiter-storage";
import type { UsageRecorder } from "./usage-recorder";

export interface LeaseParts {
  storage: LimiterStorage;
  outbox: UsageRecorder;
  alarms: AlarmSchedule;
  /** How long a lease's reserved calls may take to be settled: RESERVATION_TTL_SECONDS. */
  reservationTtlSeconds: number;
  /** Keeps a state as the object's, with the quota alerts its change crossed (the check's keep). */
  keep(state: LimiterState, limits: TenantLimits, now: number): void;
}

/** The tenant as a report finds it. */
export interface LeaseTenant {
  tenantId: string;
  now: number;
  state: LimiterState;
  /** The limits in force at `now`; null when the object holds no config (the tenant was forgotten). */
  limits: TenantLimits | null;
}

export class DurableLeases {
  constructor(private readonly parts: LeaseParts) {}

  /**
   * The lease a check admitted outright may take, on `state`, the object's state after the
   * call; undefined when none (not asked, not leasable, nothing left). `limits` are those in
   * force at `now`. Synchronous: the grant, its row and the call commit together.
   */
  grant(state: LimiterState, limits: TenantLimits, request: CheckRequest, now: number): Lease | undefined {
    const { storage, alarms, reservationTtlSeconds } = this.parts;
    const call = { ...request, ask: request.lease };
    const plan = planLease(state, limits, call, now, reservationTtlSeconds * 1000, (id) => !!storage.lease(id));
    if (!plan) return undefined;
    this.parts.keep(plan.state, limits, now);
    storage.insertLease(plan.lease);
    alarms.schedule(plan.reply.holdMs);
    return plan.reply;
  }

  /**
   * Applies one report, to run inside a transaction: the counters (written once), the quota
   * alerts, one usage event per reported call, in order, and the lease's row commit together.
   * Answers the state to keep (already written).
   */
  report(tenant: LeaseTenant, report: LeaseReport): { result: LeaseReportResult; state: LimiterState } {
    const { storage, outbox } = this.parts;
    const { tenantId, now, state, limits } = tenant;
    assertLeaseReport(report);
    const lease = storage.lease(report.leaseId);
    if (!lease) return { result: { status: "unknown" }, state };
    if (report.seq <= lease.seq) return { result: { status: "duplicate" }, state };
    // A forgotten tenant's lease is left to its hold, and recorded at what it holds, as in memory.
    if (!limits) return { result: { status: "unknown" }, state };
    const applied = applyLeaseReport(state, limits, lease, report, now);
    return outbox.batched(() => {
      const kept = stateWithAlerts(tenantId, state, applied.state, limits, now);
      storage.writeState(state, kept.state);
      for (const alert of kept.alerts) outbox.alert(alert);
      for (const call of report.calls) {
        outbox.call(lease.route, call.units, call.occurredAt, call.metadata, call.usage);
      }
      storage.updateLease(lease.id, applied.lease);
      return { result: { status: "reported" }, state: kept.state };
    });
  }

  /** The alarm's part: records the leases whose hold ran out unclosed at what they still hold. */
  sweep(now: number): void {
    const { storage, outbox } = this.parts;
    outbox.batched(() => {
      for (const l of storage.takeExpiredLeases(now)) {
        // Not scheduling a flush: the alarm flushes next.
        if (l.units > 0) outbox.call(l.route, l.units, l.grantedAt, { lease: l.id }, estimatedDimensions(null), false);
      }
    });
  }
}
