// A tenant's limits as the limiter sees them, and how a route's bucket is resolved.

import type { BucketLimits } from "./token-bucket";

/** The name of the daily quota policy in headers and reports. No route may take it. */
export const DAILY_POLICY = "daily";
/**
 * Most units one call may cost, settle to or report. A bucket counts 60,000 ticks a token,
 * and this keeps every bucket quantity an exact integer (10^9 x 60,000 < 2^53).
 */
export const MAX_CALL_UNITS = 1_000_000_000;

/** The route used when the route table matches nothing. */
export const DEFAULT_ROUTE = "default";

export interface RouteOverride {
  ratePerMinute?: number;
  burst?: number;
  cost?: number;
}

export interface TenantLimits {
  ratePerMinute: number;
  burst: number;
  /** Units per day, or null for no daily limit. */
  dailyUnits: number | null;
  timeZone: string;
  /** Evaluate and report, but never block. */
  shadow: boolean;
  routes: Record<string, RouteOverride>;
}

export interface ResolvedRoute extends BucketLimits {
  route: string;
}

/**
 * A record's own entry. Route keys come from configuration, and one named like an
 * Object.prototype member ("constructor", "toString") must not find that member.
 */
export function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The bucket limits of `route` for this tenant: its override, else the tenant default. */
export function resolveRoute(limits: TenantLimits, route: string): ResolvedRoute {
  const o = own(limits.routes, route);
  return {
    route,
    ratePerMinute: o?.ratePerMinute ?? limits.ratePerMinute,
    burst: o?.burst ?? limits.burst,
  };
}

/** The cost of one call to `route`: the tenant's override, else the route table's, else 1. */
export function routeCost(limits: TenantLimits, route: string, tableCost?: number): number {
  return own(limits.routes, route)?.cost ?? tableCost ?? 1;
}
