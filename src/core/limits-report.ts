// Every policy's figures for `/account/v1/limits` and the operator's view, without consuming.

import { describeDaily } from "./daily-quota";
import type { LimiterState } from "./limiter";
import { bucketPolicies, CONCURRENCY_POLICY, limitsAt, own, type TenantLimits } from "./limits";
import { bucketReport, type PolicyReport, seconds } from "./policy-report";
import { describeBucket } from "./token-bucket";

/** Reserved calls in flight: the tenant's, and per route those that have any. */
export interface InFlightCounts {
  tenant: number;
  routes: Record<string, number>;
}

export interface LimitsFigures {
  /** The units and request buckets of each route, and the key's own when a key was given. */
  buckets: (PolicyReport & { ratePerMinute: number; burst: number })[];
  /** Each calls-in-flight cap, the tenant's first. */
  concurrency: { name: string; limit: number; inFlight: number }[];
  daily: {
    units: number | null;
    used: number;
    remaining: number | null;
    resetSeconds: number;
    timeZone: string;
  };
}

/** Every policy's figures for the given routes, without consuming anything. */
export function describeLimits(
  state: LimiterState,
  limits: TenantLimits,
  routes: string[],
  now: number,
  context: { keyHash?: string; inFlight?: InFlightCounts } = {},
): LimitsFigures {
  limits = limitsAt(limits, now);
  const buckets = routes.flatMap((route) =>
    bucketPolicies(limits, route, context.keyHash).map((p) => {
      const { remaining, resetMs } = describeBucket(own(state.buckets, p.stateKey), p.limits, now);
      const kind = p.kind === "units" ? "bucket" : "requests";
      return { ...bucketReport(p.name, kind, p.limits, remaining, resetMs), ...p.limits };
    }),
  );
  const inFlight = context.inFlight ?? { tenant: 0, routes: {} };
  const concurrency: LimitsFigures["concurrency"] = [];
  if (typeof limits.maxConcurrent === "number") {
    concurrency.push({ name: CONCURRENCY_POLICY, limit: limits.maxConcurrent, inFlight: inFlight.tenant });
  }
  for (const route of routes) {
    const max = own(limits.routes, route)?.maxConcurrent;
    if (typeof max === "number") {
      concurrency.push({ name: `${route}/concurrency`, limit: max, inFlight: own(inFlight.routes, route) ?? 0 });
    }
  }
  const d = describeDaily(state.daily, { units: limits.dailyUnits, timeZone: limits.timeZone }, now);
  return {
    buckets,
    concurrency,
    daily: {
      units: limits.dailyUnits,
      used: d.used,
      remaining: d.remaining,
      resetSeconds: seconds(d.resetMs),
      timeZone: limits.timeZone,
    },
  };
}
