// Token leases, the authority's side, over every policy of a call: a lease takes the same
// units from each units bucket the call meets (the route's, the key's) and from the daily
// quota, and the same calls from each request bucket, so that whatever the holder admits
// from it was admitted by all of them. What the holder reports, gives back or never
// reports moves the same counters back. Pure, like decide(): the backends keep the state.
//
// Issue 18; docs/architecture.md, "Token leases".

import { dayOf, nextDayStart } from "./calendar";
import { addDaily, usedToday } from "./daily-quota";
import { grantTokens, LEASE_TERM_MS, returnTokens } from "./lease";
import { dailyLimitsOf, type LimiterState } from "./limiter";
import { assertUnits } from "./limiter-rules";
import type { Lease, LeaseAsk, LeaseReport } from "./limiter-store";
import { bucketPolicies, hasConcurrency, own, routeCost, type TenantLimits } from "./limits";
import { adjustTicks, bucketLevel, TICKS_PER_TOKEN } from "./token-bucket";
import { assertDimensions } from "./usage-dimensions";

/** Most calls one lease may ask for: far above a term's demand, far below any overflow. */
export const MAX_LEASE_REQUESTS = 1_000_000;
/** Most calls one report may carry: a report is one round trip, like a settle batch. */
export const MAX_LEASE_REPORT_CALLS = 1_000;

/** A lease as the authority holds it until the holder closes it, or its hold runs out. */
export interface HeldLease {
  id: string;
  route: string;
  keyHash?: string;
  /** Units taken for it and neither reported used nor given back. */
  units: number;
  /** Calls likewise. */
  requests: number;
  /** The day its units were counted on: a give-back on a later day does not refund that day. */
  day: string;
  grantedAt: number;
  /**
   * Past this, a lease still unclosed is recorded at what it holds (its holder is gone): the
   * term, plus the reservation TTL for the reserved calls it admitted to be settled.
   */
  holdUntil: number;
  /** The last report applied. */
  seq: number;
}

/**
 * Whether calls to `route` may be leased under these limits (the limits in force now): the
 * tenant is in lease mode, not in shadow mode (which admits everything and reports what it
 * would refuse, call by call), and no calls-in-flight cap counts the route's calls (a lease
 * holds no slot).
 */
export function leasable(limits: TenantLimits, route: string): boolean {
  return limits.leases === true && !limits.shadow && !hasConcurrency(limits, route);
}

/** A lease's shortest term: nearer the tenant's midnight than this, none is granted. */
export const MIN_LEASE_TERM_MS = 100;

/**
 * The term of a lease granted at `now`: LEASE_TERM_MS, cut at the tenant's next midnight, so
 * that every call a lease admits falls on the day its units were counted on; 0 (no lease)
 * within MIN_LEASE_TERM_MS of midnight.
 */
export function leaseTermAt(now: number, timeZone: string): number {
  const term = Math.min(LEASE_TERM_MS, nextDayStart(now, timeZone) - now);
  return term < MIN_LEASE_TERM_MS ? 0 : term;
}

/** A lease's id: chosen by the holder, so that it can close a lease whose grant it never heard. */
export const newLeaseId = () => `ls_${crypto.randomUUID()}`;
const LEASE_ID = /^ls_[0-9a-f-]{36}$/;

/** Refuses units and calls outside what a lease may hold, before any state moves. */
function assertLeaseCounts(counts: { units: number; requests: number }): void {
  assertUnits(counts.units, "lease units");
  if (!Number.isSafeInteger(counts.requests) || counts.requests < 0 || counts.requests > MAX_LEASE_REQUESTS) {
    throw new RangeError(
      `lease requests must be a whole number from 0 to ${MAX_LEASE_REQUESTS}, got ${counts.requests}`,
    );
  }
}

/** Refuses an ask outside what a lease may hold, or with an id newLeaseId() could not make. */
export function assertLeaseAsk(ask: LeaseAsk): void {
  if (typeof ask.id !== "string" || !LEASE_ID.test(ask.id)) {
    throw new RangeError(`lease id must be ls_ and a UUID, got ${JSON.stringify(ask.id)}`);
  }
  assertLeaseCounts(ask);
}

/**
 * Takes up to the asked units and calls from every policy of `route` with `keyHash`: as many
 * as the scarcest of them holds. Nothing when either comes to 0 (no call could be admitted
 * from the lease). `limits` are those in force now.
 */
export function grantLease(
  state: LimiterState,
  limits: TenantLimits,
  route: string,
  keyHash: string | undefined,
  ask: LeaseAsk,
  now: number,
): { state: LimiterState; units: number; requests: number } {
  const policies = bucketPolicies(limits, route, keyHash);
  let units = ask.units;
  let requests = ask.requests;
  for (const p of policies) {
    const level = bucketLevel(own(state.buckets, p.stateKey), p.limits, now);
    const whole = Math.max(0, Math.floor(level / TICKS_PER_TOKEN));
    if (p.kind === "units") units = Math.min(units, whole);
    else requests = Math.min(requests, whole);
  }
  const daily = dailyLimitsOf(limits);
  if (daily.units !== null) units = Math.min(units, Math.max(0, daily.units - usedToday(state.daily, daily, now)));
  if (units === 0 || requests === 0) return { state, units: 0, requests: 0 };
  const buckets = { ...state.buckets };
  for (const p of policies) {
    const n = p.kind === "units" ? units : requests;
    buckets[p.stateKey] = grantTokens(own(buckets, p.stateKey), p.limits, n, n, now).state;
  }
  return { state: { buckets, daily: addDaily(state.daily, daily, units, now) }, units, requests };
}

/** The call a check admitted outright, and the lease it asks for, as planLease() takes them. */
export interface LeaseCall {
  route: string;
  keyHash?: string;
  /** The route table's cost, for the lease's routeCost. */
  defaultCost?: number;
  ask?: LeaseAsk;
}

/**
 * The lease a call admitted outright takes, on `state`, the tenant's state after the call:
 * the state after the grant, the lease as its authority holds it, and the check's answer.
 * Undefined when there is none: not asked, not leasable, too near midnight, an id `held`
 * already, or nothing left. `limits` are those in force at `now`; `ttlMs`, the reservation
 * TTL, is how long after the term the authority holds the lease for its reserved calls.
 */
export function planLease(
  state: LimiterState,
  limits: TenantLimits,
  call: LeaseCall,
  now: number,
  ttlMs: number,
  held: (id: string) => boolean,
): { state: LimiterState; lease: HeldLease; reply: Lease } | undefined {
  const { ask, route, keyHash } = call;
  if (!ask || !leasable(limits, route)) return undefined;
  const termMs = leaseTermAt(now, limits.timeZone);
  if (termMs === 0 || held(ask.id)) return undefined;
  const g = grantLease(state, limits, route, keyHash, ask, now);
  if (g.units === 0) return undefined;
  const holdMs = termMs + ttlMs;
  const lease: HeldLease = {
    id: ask.id,
    route,
    ...(keyHash !== undefined ? { keyHash } : {}),
    units: g.units,
    requests: g.requests,
    day: dayOf(now, limits.timeZone),
    grantedAt: now,
    holdUntil: now + holdMs,
    seq: 0,
  };
  const reply = {
    id: ask.id,
    units: g.units,
    requests: g.requests,
    termMs,
    holdMs,
    routeCost: routeCost(limits, route, call.defaultCost),
  };
  return { state: g.state, lease, reply };
}

/**
 * Gives `units` and `requests` of a lease back to its policies (up to each bucket's
 * capacity), and the units to the day they were counted on while it lasts.
 */
export function returnLease(
  state: LimiterState,
  limits: TenantLimits,
  lease: Pick<HeldLease, "route" | "keyHash" | "day">,
  units: number,
  requests: number,
  now: number,
): LimiterState {
  if (units === 0 && requests === 0) return state;
  const buckets = { ...state.buckets };
  for (const p of bucketPolicies(limits, lease.route, lease.keyHash)) {
    const n = p.kind === "units" ? units : requests;
    buckets[p.stateKey] = returnTokens(own(buckets, p.stateKey), p.limits, n, now);
  }
  const daily = dailyLimitsOf(limits);
  const sameDay = dayOf(now, daily.timeZone) === lease.day;
  return { buckets, daily: sameDay && units > 0 ? addDaily(state.daily, daily, -units, now) : state.daily };
}

/**
 * Charges units a lease's calls used beyond what it held (reserved calls that settled above
 * their estimate): to its units buckets, which may go into debt, and to today, as a settle
 * above its reservation is charged, so that the limiter never enforces less than was used.
 */
export function chargeLease(
  state: LimiterState,
  limits: TenantLimits,
  lease: Pick<HeldLease, "route" | "keyHash">,
  units: number,
  now: number,
): LimiterState {
  if (units === 0) return state;
  const buckets = { ...state.buckets };
  for (const p of bucketPolicies(limits, lease.route, lease.keyHash)) {
    if (p.kind === "units")
      buckets[p.stateKey] = adjustTicks(own(buckets, p.stateKey), p.limits, -units * TICKS_PER_TOKEN, now);
  }
  return { buckets, daily: addDaily(state.daily, dailyLimitsOf(limits), units, now) };
}

/** Refuses a report no lease could have made, before any state moves. */
export function assertLeaseReport(report: LeaseReport): void {
  if (typeof report.leaseId !== "string" || report.leaseId === "") throw new RangeError("leaseId must be given");
  if (!Number.isSafeInteger(report.seq) || report.seq < 1) {
    throw new RangeError(`report seq must be a whole number from 1, got ${report.seq}`);
  }
  if (report.calls.length > MAX_LEASE_REPORT_CALLS) {
    throw new RangeError(`a lease report carries at most ${MAX_LEASE_REPORT_CALLS} calls, got ${report.calls.length}`);
  }
  for (const call of report.calls) {
    assertUnits(call.units);
    if (!Number.isSafeInteger(call.occurredAt) || call.occurredAt < 0) {
      throw new RangeError(`occurredAt must be ms since the epoch, got ${call.occurredAt}`);
    }
    assertDimensions(call.usage);
  }
  if (report.giveBack) assertLeaseCounts(report.giveBack);
}

export interface AppliedReport {
  state: LimiterState;
  /** The lease after the report; null when the report closed it. */
  lease: HeldLease | null;
}

/**
 * One report of a held lease, not yet applied (`report.seq` above `lease.seq`): its calls'
 * units leave what the lease holds (beyond it, they are charged), what it gives back goes
 * back, and a close gives back the rest. `limits` are those in force now. The caller emits
 * one usage event per call, in order.
 */
export function applyLeaseReport(
  state: LimiterState,
  limits: TenantLimits,
  lease: HeldLease,
  report: LeaseReport,
  now: number,
): AppliedReport {
  let used = 0;
  for (const call of report.calls) used += call.units;
  let units = lease.units - used;
  let next = state;
  if (units < 0) {
    next = chargeLease(next, limits, lease, -units, now);
    units = 0;
  }
  // A holder takes one call per admitted call, so a lease never runs short of them.
  let requests = Math.max(0, lease.requests - report.calls.length);
  const backUnits = report.close ? units : Math.min(units, report.giveBack?.units ?? 0);
  const backRequests = report.close ? requests : Math.min(requests, report.giveBack?.requests ?? 0);
  next = returnLease(next, limits, lease, backUnits, backRequests, now);
  units -= backUnits;
  requests -= backRequests;
  return { state: next, lease: report.close ? null : { ...lease, units, requests, seq: report.seq } };
}
