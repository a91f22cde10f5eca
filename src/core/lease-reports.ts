// Token leases, the holder's reports: what a holder owes the authority for each lease it holds
// (the calls it admitted, what it gives back, its close), sent one report at a time per lease
// in increasing `seq`, and retried as it was until the authority answers, so that each
// report is applied once. A lease whose hold runs out before its report arrives was recorded
// at what it held: the report is then dropped, as the authority answers "unknown".

import { describeError } from "./errors";
import { LEASE_TERM_MS } from "./lease";
import { LeasedCallLog } from "./lease-call-log";
import { MAX_LEASE_REPORT_CALLS } from "./lease-grant";
import type { Decision } from "./limiter";
import { DEFAULT_RESERVATION_TTL_SECONDS } from "./limiter-rules";
import type { Lease, LeaseReport, LeaseReportResult } from "./limiter-store";
import type { PolicyReport } from "./policy-report";

/** One lease as its holder keeps it. */
export interface HeldByHolder {
  id: string;
  tenantId: string;
  /** Units left to admit from; below 0 after calls settled above their estimate. */
  units: number;
  /** Calls left to admit. */
  requests: number;
  routeCost: number;
  /** On the holder's clock: the check was sent at `expiresAt - termMs`. */
  expiresAt: number;
  /** When the authority stops holding it (sent at + holdMs): past it, the holder forgets it. */
  heldUntil: number;
  /** No more calls are admitted from it: its term ended, or it ran short and was renewed. */
  retired: boolean;
  /** Reserved calls it admitted that are not settled yet. */
  inFlight: number;
  /** Calls admitted (and settled) and not yet reported. */
  calls: LeasedCallLog;
  /** What retiring it left to give back, until a report carries it. */
  giveBack: { units: number; requests: number } | null;
  /** The last report the authority answered. */
  seq: number;
  /** Closed, or unknown to the authority: it owes nothing more, and no report is built again. */
  done?: boolean;
  /** The report sent and not yet answered, or to be sent again as it is. */
  sending: LeaseReport | null;
  /** The decision of the check that granted it, and what was admitted since: the headers' figures. */
  decision: Decision;
  admittedUnits: number;
  admittedCalls: number;
}

/** The next report of a lease, or null when it owes nothing now. Takes what it carries out of the lease. */
export function nextReport(lease: HeldByHolder): LeaseReport | null {
  if (lease.sending) return lease.sending;
  const calls = lease.calls.take(MAX_LEASE_REPORT_CALLS);
  const close = lease.retired && lease.inFlight === 0 && lease.calls.length === 0;
  const giveBack = lease.giveBack;
  if (calls.length === 0 && !close && !giveBack) return null;
  lease.giveBack = null;
  const report: LeaseReport = { leaseId: lease.id, seq: lease.seq + 1, calls };
  if (giveBack && !close) report.giveBack = giveBack;
  if (close) report.close = true;
  lease.sending = report;
  return report;
}

/**
 * Sends a lease's reports until it owes nothing, one at a time. Answers true when the lease
 * is done with (closed, or unknown to the authority); false when it is still held. Throws
 * the send's error, leaving the report to be sent again as it is.
 */
export async function sendReports(
  lease: HeldByHolder,
  send: (tenantId: string, report: LeaseReport) => Promise<LeaseReportResult>,
): Promise<boolean> {
  for (;;) {
    if (lease.done) return true;
    const report = nextReport(lease);
    if (!report) return false;
    let result: LeaseReportResult;
    try {
      result = await send(lease.tenantId, report);
    } catch (err) {
      throw new Error(`lease ${lease.id} report ${report.seq}: ${describeError(err)}`, { cause: err });
    }
    // A send taken for lost may still be answered, after the one that replaced it: the seq
    // never goes back, and only the report on its way is cleared, so none is built twice.
    if (lease.sending === report) lease.sending = null;
    lease.seq = Math.max(lease.seq, report.seq);
    if (report.close || result.status === "unknown") {
      lease.done = true;
      return true;
    }
  }
}

/** A lease as the holder keeps it, from its grant to a check sent at `sentAt`. */
export function heldLease(tenantId: string, sentAt: number, granted: Lease, decision: Decision): HeldByHolder {
  return {
    id: granted.id,
    tenantId,
    units: granted.units,
    requests: granted.requests,
    routeCost: granted.routeCost,
    // From when the check was sent: a late answer cannot stretch the term.
    expiresAt: sentAt + granted.termMs,
    heldUntil: sentAt + granted.holdMs,
    retired: false,
    inFlight: 0,
    calls: new LeasedCallLog(),
    giveBack: null,
    seq: 0,
    sending: null,
    decision,
    admittedUnits: 0,
    admittedCalls: 0,
  };
}

/** How long a holder keeps closing a lease whose grant it never heard: the longest hold it could have. */
export const UNHEARD_HOLD_MS = LEASE_TERM_MS + DEFAULT_RESERVATION_TTL_SECONDS * 1000;
/** The decision of a lease that admits nothing (one whose grant was never heard). */
export const NO_DECISION: Decision = {
  allowed: false,
  shadowed: false,
  violated: [],
  policies: [],
  retryAfterSeconds: null,
  route: "",
  cost: 0,
};

/**
 * The decision of a call admitted from a lease: the granting check's, with what this holder
 * admitted from the lease since taken from each policy's remaining.
 */
export function localDecision(lease: HeldByHolder, route: string, cost: number): Decision {
  // Once per leased call: a loop and object literals rather than map() and spreads, 19 ns
  // against 50 for a decision of three policies.
  const granted = lease.decision.policies;
  const policies: PolicyReport[] = new Array(granted.length);
  for (let i = 0; i < granted.length; i++) {
    const p = granted[i] as PolicyReport;
    const used = p.kind === "requests" ? lease.admittedCalls : p.kind === "concurrency" ? 0 : lease.admittedUnits;
    policies[i] =
      used === 0
        ? p
        : {
            name: p.name,
            kind: p.kind,
            quota: p.quota,
            windowSeconds: p.windowSeconds,
            remaining: Math.max(0, p.remaining - used),
            resetSeconds: p.resetSeconds,
          };
  }
  return { allowed: true, shadowed: false, violated: [], policies, retryAfterSeconds: 0, route, cost };
}
