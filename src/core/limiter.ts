// The limiter's decision: every policy of a call is checked together and consumed together.
//
// A call is admitted only if every bucket it meets (the route's units and requests, the key's
// own), the daily quota and every calls-in-flight cap admit it; a rejected call changes
// nothing. Shadow mode admits what would be rejected and says so.

import { dayOf } from "./calendar";
import { addDaily, type DailyLimits, type DailyState, describeDaily, takeDaily } from "./daily-quota";
import {
  type BucketPolicy,
  bucketPolicies,
  concurrencyPolicies,
  DAILY_POLICY,
  limitsAt,
  own,
  type TenantLimits,
  unitsBucket,
} from "./limits";
import {
  bucketReport,
  CONCURRENCY_RETRY_SECONDS,
  concurrencyReport,
  dailyPolicy,
  type PolicyReport,
  seconds,
} from "./policy-report";
import {
  adjustTicks,
  type BucketState,
  describeBucket,
  forceTakeTokens,
  TICKS_PER_TOKEN,
  takeTokens,
} from "./token-bucket";

export { describeLimits, type LimitsFigures } from "./limits-report";
export { dailyPolicy, NEVER_RETRY_SECONDS, type PolicyReport } from "./policy-report";

export interface LimiterState {
  /** By state key: a route's name, `<route>/requests`, or a key's `key/<hash>/<name>`. */
  buckets: Record<string, BucketState | undefined>;
  daily: DailyState | undefined;
}

export interface Decision {
  allowed: boolean;
  /** True when shadow mode admitted a call the limits would have rejected. */
  shadowed: boolean;
  /** Names of the policies that rejected (or, in shadow mode, would have rejected) the call. */
  violated: string[];
  policies: PolicyReport[];
  /** Seconds until the call could succeed; null when it never can under the current limits. */
  retryAfterSeconds: number | null;
  route: string;
  cost: number;
}

export interface DecideResult {
  decision: Decision;
  state: LimiterState;
  /** Ticks the call took from the route's units bucket: the cost, or less when shadow mode floored it. */
  bucketTicks: number;
  /** Ticks it took from the key's units bucket, likewise. */
  keyTicks: number;
}

/** Reserved calls holding a slot when a call arrives: the tenant's, and its route's. */
export interface InFlight {
  tenant: number;
  route: number;
}

/** What a call is, beyond its route and cost. */
export interface CallOptions {
  /** The key the call came with: its own limits apply too. */
  keyHash?: string;
  /** A reservation: it takes a calls-in-flight slot, and counts as a request even at cost 0. */
  reserve?: boolean;
  /** The reserved calls in flight before this one; needed, and only read, when reserving. */
  inFlight?: InFlight;
}

/** What a reservation held, so that settling it can give back exactly that. */
export interface HeldUnits {
  route: string;
  /** Units counted against the day. */
  units: number;
  /** Ticks taken from the route's units bucket. */
  bucketTicks: number;
  /** The key whose units bucket it took `keyTicks` from, if the key has one. */
  keyHash?: string;
  keyTicks?: number;
  /** The day the units were counted on. */
  day: string;
}

export function dailyLimitsOf(limits: TenantLimits): DailyLimits {
  return { units: limits.dailyUnits, timeZone: limits.timeZone };
}

/** What one call takes from a bucket: units from a units bucket, one from a request bucket. */
const takeOf = (p: BucketPolicy, cost: number, counted: boolean) => (!counted ? 0 : p.kind === "units" ? cost : 1);

/** The longest wait among refusals (all must admit), or null when one of them can never admit the call. */
function longestWait(waits: (number | null)[]): number | null {
  let out = 0;
  for (const w of waits) {
    if (w === null) return null;
    out = Math.max(out, w);
  }
  return out;
}

/** Checks every policy of one call to `route` costing `cost` units, and consumes from all or none. */
export function decide(
  state: LimiterState,
  limits: TenantLimits,
  route: string,
  cost: number,
  now: number,
  call: CallOptions = {},
): DecideResult {
  limits = limitsAt(limits, now);
  const reserve = call.reserve === true;
  // A call is counted as a request unless it only peeks (cost 0, nothing held).
  const counted = cost > 0 || reserve;
  const buckets = bucketPolicies(limits, route, call.keyHash);
  const takes = buckets.map((p) => {
    const current = own(state.buckets, p.stateKey);
    return { p, current, take: takeTokens(current, p.limits, takeOf(p, cost, counted), now) };
  });
  const daily = dailyLimitsOf(limits);
  const d = takeDaily(state.daily, daily, cost, now);
  const slots = reserve ? concurrencyPolicies(limits, route) : [];
  const inFlight = call.inFlight ?? { tenant: 0, route: 0 };
  const busy = (route: string | null) => (route === null ? inFlight.tenant : inFlight.route);

  const violated: string[] = [];
  const waits: (number | null)[] = [];
  for (const { p, take } of takes) {
    if (take.ok) continue;
    violated.push(p.name);
    waits.push(take.retryAfterMs === null ? null : seconds(take.retryAfterMs));
  }
  if (!d.ok) {
    violated.push(DAILY_POLICY);
    waits.push(d.retryAfterMs === null ? null : seconds(d.retryAfterMs));
  }
  for (const s of slots) {
    if (busy(s.route) < s.max) continue;
    violated.push(s.name);
    waits.push(CONCURRENCY_RETRY_SECONDS);
  }
  const ok = violated.length === 0;

  let next = state;
  let bucketTicks = 0;
  let keyTicks = 0;
  const held = (p: BucketPolicy, ticks: number) => {
    if (p.kind !== "units") return;
    if (p.stateKey === route) bucketTicks = ticks;
    else keyTicks = ticks;
  };
  if (ok && counted) {
    const moved = { ...state.buckets };
    for (const { p, take } of takes) {
      if (take.state === own(state.buckets, p.stateKey)) continue;
      moved[p.stateKey] = take.state;
      held(p, takeOf(p, cost, counted) * TICKS_PER_TOKEN);
    }
    next = { buckets: moved, daily: d.state };
  } else if (!ok && limits.shadow) {
    // Shadow mode lets the call through: count the real usage, but floor each bucket at zero
    // so that switching shadow mode off does not leave the tenant in debt.
    const moved = { ...state.buckets };
    for (const { p, current } of takes) {
      const forced = forceTakeTokens(current, p.limits, takeOf(p, cost, counted), now);
      moved[p.stateKey] = forced.state;
      held(p, forced.takenTicks);
    }
    next = { buckets: moved, daily: addDaily(state.daily, daily, cost, now) };
  }

  // Report the state the call leaves behind, whatever happened to it.
  const policies: PolicyReport[] = buckets.map((p) => {
    const b = describeBucket(own(next.buckets, p.stateKey), p.limits, now);
    return bucketReport(p.name, p.kind === "units" ? "bucket" : "requests", p.limits, b.remaining, b.resetMs);
  });
  const day = describeDaily(next.daily, daily, now);
  const dp = dailyPolicy({ units: daily.units, remaining: day.remaining, resetSeconds: seconds(day.resetMs) });
  if (dp) policies.push(dp);
  const admitted = ok || limits.shadow;
  for (const s of slots) policies.push(concurrencyReport(s.name, s.max, busy(s.route) + (admitted ? 1 : 0)));

  return {
    decision: {
      allowed: admitted,
      shadowed: !ok && limits.shadow,
      violated,
      policies,
      retryAfterSeconds: ok ? 0 : longestWait(waits),
      route,
      cost,
    },
    state: next,
    bucketTicks,
    keyTicks,
  };
}

/**
 * Checks usage reported after the fact (a finished job) against the daily quota only: the
 * buckets pace calls as they arrive, and a report of a batch job that already ran is not
 * a call. It consumes from the day or not at all; shadow mode admits it and says so.
 */
export function decideReported(
  state: LimiterState,
  limits: TenantLimits,
  route: string,
  units: number,
  now: number,
): DecideResult {
  limits = limitsAt(limits, now);
  const daily = dailyLimitsOf(limits);
  const d = takeDaily(state.daily, daily, units, now);
  let next = state;
  if (d.ok && units > 0) next = { ...state, daily: d.state };
  else if (!d.ok && limits.shadow) next = { ...state, daily: addDaily(state.daily, daily, units, now) };
  const day = describeDaily(next.daily, daily, now);
  const dp = dailyPolicy({ units: daily.units, remaining: day.remaining, resetSeconds: seconds(day.resetMs) });
  return {
    decision: {
      allowed: d.ok || limits.shadow,
      shadowed: !d.ok && limits.shadow,
      violated: d.ok ? [] : [DAILY_POLICY],
      policies: dp ? [dp] : [],
      retryAfterSeconds: d.ok ? 0 : d.retryAfterMs === null ? null : seconds(d.retryAfterMs),
      route,
      cost: units,
    },
    state: next,
    bucketTicks: 0,
    keyTicks: 0,
  };
}

/** Moves one units bucket by a settle's difference; a refund gives back no more than was taken. */
function settleBucket(
  buckets: LimiterState["buckets"],
  stateKey: string,
  limits: ReturnType<typeof unitsBucket>,
  delta: number,
  taken: number,
  now: number,
): void {
  if (!limits) return;
  const deltaTicks = delta > 0 ? Math.min(delta * TICKS_PER_TOKEN, taken) : delta * TICKS_PER_TOKEN;
  buckets[stateKey] = adjustTicks(own(buckets, stateKey), limits, deltaTicks, now);
}

/**
 * The counters once a reservation is settled to the `actual` units used (the store's
 * settle() calls it): the difference is refunded to, or charged to, the units buckets
 * (the route's and the key's) and the day it was reserved on. Request buckets are never
 * settled: a call is one request whatever it used.
 */
export function reconcile(
  state: LimiterState,
  limits: TenantLimits,
  reservation: HeldUnits,
  actual: number,
  now: number,
): LimiterState {
  const delta = reservation.units - actual;
  if (delta === 0) return state;
  limits = limitsAt(limits, now);
  const { route, keyHash } = reservation;
  const buckets = { ...state.buckets };
  settleBucket(buckets, route, unitsBucket(limits, route), delta, reservation.bucketTicks, now);
  if (keyHash !== undefined) {
    const key = bucketPolicies(limits, route, keyHash).find((p) => p.kind === "units" && p.stateKey !== route);
    if (key) settleBucket(buckets, key.stateKey, key.limits, delta, reservation.keyTicks ?? 0, now);
  }
  const daily = dailyLimitsOf(limits);
  // A refund for a day that has already ended would be handed out on the wrong day, so it
  // is dropped; a charge always lands, on today if the reservation's day has ended, so
  // that the quota counts every unit that is billed.
  const sameDay = dayOf(now, daily.timeZone) === reservation.day;
  const dailyState = sameDay || delta < 0 ? addDaily(state.daily, daily, -delta, now) : state.daily;
  return { buckets, daily: dailyState };
}
