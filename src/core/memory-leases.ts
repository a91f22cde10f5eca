// The memory store's leases: granted with a check, reported and closed by their holder, and
// recorded at what they still hold once their hold runs out unclosed, as an unsettled
// reservation is recorded at its estimate. The arithmetic is lease-grant.ts's.

import {
  applyLeaseReport,
  assertLeaseAsk,
  assertLeaseReport,
  type HeldLease,
  type LeaseCall,
  planLease,
} from "./lease-grant";
import type { LimiterState } from "./limiter";
import type { LeaseAsk, LeaseReport, LeaseReportResult } from "./limiter-store";
import type { TenantLimits } from "./limits";
import { estimatedDimensions } from "./usage-dimensions";
import type { UsageDimensions, UsageMetadata } from "./usage-event";

interface Held extends HeldLease {
  tenantId: string;
}

export interface MemoryLeaseParts {
  /** How long a lease's reserved calls may take to be settled: the reservation TTL. */
  ttlMs: number;
  /** Keeps a tenant's new state, with the quota alerts its change crossed. */
  keep(tenantId: string, state: LimiterState, limits: TenantLimits, at: number): void;
  /** Emits one usage event of a lease's route. */
  emit(
    tenantId: string,
    route: string,
    units: number,
    occurredAt: number,
    metadata: UsageMetadata | undefined,
    usage: UsageDimensions | undefined,
  ): void;
}

const keyOf = (tenantId: string, id: string) => `${tenantId}\u0000${id}`;

export function memoryLeases(parts: MemoryLeaseParts) {
  // In grant order, which is hold order under a constant TTL: a sweep stops at the first live one.
  const leases = new Map<string, Held>();

  return {
    /**
     * The lease a check admitted outright may take, on its state after the call; undefined
     * when none (not asked, not leasable, nothing left). `limits` are those in force at `at`.
     */
    grant(tenantId: string, tenant: { state: LimiterState }, limits: TenantLimits, call: LeaseCall, at: number) {
      const held = (id: string) => leases.has(keyOf(tenantId, id));
      const plan = planLease(tenant.state, limits, call, at, parts.ttlMs, held);
      if (!plan) return undefined;
      parts.keep(tenantId, plan.state, limits, at);
      leases.set(keyOf(tenantId, plan.lease.id), { ...plan.lease, tenantId });
      return plan.reply;
    },

    /** Applies a report of one of the tenant's leases. `held` is the tenant, if the store holds it. */
    report(
      tenantId: string,
      held: { state: LimiterState; limits: TenantLimits } | undefined,
      report: LeaseReport,
      at: number,
    ): LeaseReportResult {
      assertLeaseReport(report);
      const key = keyOf(tenantId, report.leaseId);
      const lease = leases.get(key);
      if (!lease) return { status: "unknown" };
      if (report.seq <= lease.seq) return { status: "duplicate" };
      if (!held) return { status: "unknown" };
      const applied = applyLeaseReport(held.state, held.limits, lease, report, at);
      parts.keep(tenantId, applied.state, held.limits, at);
      for (const call of report.calls) {
        parts.emit(tenantId, lease.route, call.units, call.occurredAt, call.metadata, call.usage);
      }
      if (applied.lease) leases.set(key, { ...applied.lease, tenantId });
      else leases.delete(key);
      return { status: "reported" };
    },

    assertAsk: (ask: LeaseAsk | undefined) => ask && assertLeaseAsk(ask),

    /** Records the leases whose hold ran out unclosed at what they still hold. */
    sweepAt(at: number): void {
      for (const [key, lease] of leases) {
        if (lease.holdUntil > at) break;
        leases.delete(key);
        if (lease.units > 0) {
          parts.emit(
            lease.tenantId,
            lease.route,
            lease.units,
            lease.grantedAt,
            { lease: lease.id },
            estimatedDimensions(null),
          );
        }
      }
    },

    size: () => leases.size,
  };
}
