// Token leases on Redis (limiter-script-lease.ts): the grant a check admitted outright may
// take, in a script call of its own after the check's, and a holder's reports. A renewal
// costs one round trip more than an exact check, once a term per holder and scope; every
// call the lease then admits costs none.

import { LEASE_TERM_MS } from "../core/lease";
import { assertLeaseReport, leasable } from "../core/lease-grant";
import type { Decision } from "../core/limiter";
import type { CheckRequest, Lease, LeaseReport, LeaseReportResult } from "../core/limiter-store";
import { limitsAt, routeCost, type TenantLimits } from "../core/limits";
import { newEventId } from "../core/usage-event";
import type { LimiterOp } from "./limiter-call";
import { num, str } from "./limiter-reply";
import type { Denied, Ran } from "./limiter-runner";

type Run = (
  tenantId: string,
  keyHash: string | undefined,
  opAt: (now: number) => LimiterOp | null,
) => Promise<Ran | Denied | null>;

/**
 * The lease a check's call may take: only a call admitted outright (not shadowed, and one that
 * counts), with a lease asked for, of a tenant in lease mode on a leasable route. Undefined
 * when there is none, the tenant was suspended meanwhile, or nothing is left to lease.
 */
export async function grantRedisLease(
  run: Run,
  tenantId: string,
  request: CheckRequest,
  checked: { decision: Decision; limits: TenantLimits; now: number },
  holdMs: number,
): Promise<Lease | undefined> {
  const { decision, limits, now } = checked;
  const ask = request.lease;
  const counted = decision.cost > 0 || request.reserve === true;
  if (!ask || !decision.allowed || decision.shadowed || !counted) return undefined;
  const inForce = limitsAt(limits, now);
  if (!leasable(inForce, request.route)) return undefined;
  const leaseId = `ls_${crypto.randomUUID()}`;
  const r = await run(tenantId, request.keyHash, (at) => ({
    op: "lease",
    leaseId,
    route: request.route,
    units: ask.units,
    requests: ask.requests,
    holdUntil: at + LEASE_TERM_MS + holdMs,
  }));
  if (r === null || "denied" in r || str(r.reply[0]) !== "granted") return undefined;
  return {
    id: leaseId,
    units: num(r.reply[4]),
    requests: num(r.reply[5]),
    routeCost: routeCost(inForce, request.route, request.defaultCost),
    termMs: LEASE_TERM_MS,
  };
}

/** Applies a holder's report in one script call. */
export async function reportRedisLease(run: Run, tenantId: string, report: LeaseReport): Promise<LeaseReportResult> {
  assertLeaseReport(report);
  const calls = report.calls.map((c) => ({
    eventId: newEventId(),
    units: c.units,
    occurredAt: c.occurredAt,
    metadata: c.metadata,
    dimensions: c.usage ?? {},
  }));
  const r = await run(tenantId, undefined, () => ({
    op: "report",
    leaseId: report.leaseId,
    seq: report.seq,
    close: report.close === true,
    giveBack: report.giveBack ?? { units: 0, requests: 0 },
    calls,
  }));
  // A tenant that no longer exists holds no lease.
  if (r === null || "denied" in r) return { status: "unknown" };
  const status = str(r.reply[0]);
  if (status === "reported" || status === "duplicate" || status === "unknown") return { status };
  throw new Error(`the Redis limiter script answered a lease report with ${String(status)}`);
}
