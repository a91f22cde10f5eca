// The limiter's decision: every policy of a call is checked together and consumed together.
//
// A call is admitted only if the route's bucket and the daily quota both admit it; a
// rejected call changes nothing. Shadow mode admits what would be rejected and says so.

import { dayOf } from "./calendar";
import { addDaily, type DailyLimits, type DailyState, describeDaily, takeDaily } from "./daily-quota";
import { DAILY_POLICY, own, resolveRoute, type TenantLimits } from "./limits";
import {
  adjustTicks,
  type BucketLimits,
  type BucketState,
  describeBucket,
  forceTakeTokens,
  TICKS_PER_TOKEN,
  takeTokens,
} from "./token-bucket";

export interface LimiterState {
  buckets: Record<string, BucketState | undefined>;
  daily: DailyState | undefined;
}

/** One policy's figures, as the RateLimit fields and `/account/v1/limits` report them. */
export interface PolicyReport {
  name: string;
  kind: "bucket" | "daily";
  /** q: the policy's quota in units. */
  quota: number;
  /** w: the policy's window in seconds. */
  windowSeconds: number;
  /** r: units left. */
  remaining: number;
  /** t: seconds until the policy is fully restored. */
  resetSeconds: number;
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
  /** Ticks the call took from its bucket: the full cost, or less when shadow mode floored it. */
  bucketTicks: number;
}

/** What a reservation held, so that settling it can give back exactly that. */
export interface HeldUnits {
  route: string;
  /** Units counted against the day. */
  units: number;
  /** Ticks taken from the route's bucket. */
  bucketTicks: number;
  /** The day the units were counted on. */
  day: string;
}

/** The longest Retry-After we announce, for calls the current limits can never admit. */
export const NEVER_RETRY_SECONDS = 86_400;

const seconds = (ms: number) => Math.ceil(ms / 1000);

function bucketWindowSeconds(b: BucketLimits): number {
  // The time a full bucket takes to refill from empty; equals 60 when burst == rate.
  return b.ratePerMinute === 0 ? NEVER_RETRY_SECONDS : Math.max(1, seconds((b.burst * 60_000) / b.ratePerMinute));
}

function bucketReport(name: string, b: BucketLimits, remaining: number, resetMs: number | null): PolicyReport {
  const windowSeconds = bucketWindowSeconds(b);
  return {
    name,
    kind: "bucket",
    quota: b.burst,
    windowSeconds,
    remaining,
    resetSeconds: resetMs === null ? windowSeconds : seconds(resetMs),
  };
}

/** The policy report of the daily quota for the RateLimit fields, or null without a daily limit. */
export function dailyPolicy(daily: {
  units: number | null;
  remaining: number | null;
  resetSeconds: number;
}): PolicyReport | null {
  if (daily.units === null) return null;
  return {
    name: DAILY_POLICY,
    kind: "daily",
    quota: daily.units,
    windowSeconds: 86_400,
    remaining: daily.remaining ?? 0,
    resetSeconds: daily.resetSeconds,
  };
}

export function dailyLimitsOf(limits: TenantLimits): DailyLimits {
  return { units: limits.dailyUnits, timeZone: limits.timeZone };
}

/** Checks every policy of one call to `route` costing `cost` units, and consumes from all or none. */
export function decide(
  state: LimiterState,
  limits: TenantLimits,
  route: string,
  cost: number,
  now: number,
): DecideResult {
  const bucketLimits = resolveRoute(limits, route);
  const daily = dailyLimitsOf(limits);
  const current = own(state.buckets, route);
  const b = takeTokens(current, bucketLimits, cost, now);
  const d = takeDaily(state.daily, daily, cost, now);

  const violated: string[] = [];
  if (!b.ok) violated.push(route);
  if (!d.ok) violated.push(DAILY_POLICY);
  const ok = violated.length === 0;

  let next = state;
  let bucketTicks = 0;
  if (ok && cost > 0) {
    next = { buckets: { ...state.buckets, [route]: b.state }, daily: d.state };
    bucketTicks = cost * TICKS_PER_TOKEN;
  } else if (!ok && limits.shadow) {
    // Shadow mode lets the call through: count the real usage, but floor the bucket at
    // zero so that switching shadow mode off does not leave the tenant in debt.
    const forced = forceTakeTokens(current, bucketLimits, cost, now);
    next = { buckets: { ...state.buckets, [route]: forced.state }, daily: addDaily(state.daily, daily, cost, now) };
    bucketTicks = forced.takenTicks;
  }

  // Report the state the call leaves behind, whatever happened to it.
  const bucket = describeBucket(own(next.buckets, route), bucketLimits, now);
  const day = describeDaily(next.daily, daily, now);
  const policies = [bucketReport(route, bucketLimits, bucket.remaining, bucket.resetMs)];
  const dp = dailyPolicy({ units: daily.units, remaining: day.remaining, resetSeconds: seconds(day.resetMs) });
  if (dp) policies.push(dp);

  let retryAfterSeconds: number | null = 0;
  for (const wait of [b.retryAfterMs, d.retryAfterMs]) {
    if (wait === null) retryAfterSeconds = null;
    else if (retryAfterSeconds !== null) retryAfterSeconds = Math.max(retryAfterSeconds, seconds(wait));
  }
  return {
    decision: {
      allowed: ok || limits.shadow,
      shadowed: !ok && limits.shadow,
      violated,
      policies,
      retryAfterSeconds: ok ? 0 : retryAfterSeconds,
      route,
      cost,
    },
    state: next,
    bucketTicks,
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
  };
}

/**
 * The counters once a reservation is settled to the `actual` units used (the store's
 * settle() calls it): the difference is refunded to, or charged to, both the bucket and
 * the day it was reserved on. A refund gives back no more
 * than the reservation took from the bucket.
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
  const deltaTicks = delta > 0 ? Math.min(delta * TICKS_PER_TOKEN, reservation.bucketTicks) : delta * TICKS_PER_TOKEN;
  const route = reservation.route;
  const bucket = adjustTicks(own(state.buckets, route), resolveRoute(limits, route), deltaTicks, now);
  const daily = dailyLimitsOf(limits);
  // A refund for a day that has already ended would be handed out on the wrong day, so it
  // is dropped; a charge always lands, on today if the reservation's day has ended, so
  // that the quota counts every unit that is billed.
  const sameDay = dayOf(now, daily.timeZone) === reservation.day;
  const dailyState = sameDay || delta < 0 ? addDaily(state.daily, daily, -delta, now) : state.daily;
  return { buckets: { ...state.buckets, [route]: bucket }, daily: dailyState };
}

/** Every policy's figures for the given routes, without consuming anything. */
export function describeLimits(state: LimiterState, limits: TenantLimits, routes: string[], now: number) {
  const buckets = routes.map((route) => {
    const b = resolveRoute(limits, route);
    const { remaining, resetMs } = describeBucket(own(state.buckets, route), b, now);
    return { ...bucketReport(route, b, remaining, resetMs), ratePerMinute: b.ratePerMinute, burst: b.burst };
  });
  const d = describeDaily(state.daily, dailyLimitsOf(limits), now);
  return {
    buckets,
    daily: {
      units: limits.dailyUnits,
      used: d.used,
      remaining: d.remaining,
      resetSeconds: seconds(d.resetMs),
      timeZone: limits.timeZone,
    },
  };
}
