// A tenant's limits as the limiter sees them, and how one call's policies are resolved.
//
// A call to a route meets up to seven policies (docs/http-api.md, "Quotas" and "Headers"):
// the route's units bucket (`<route>`) and request bucket (`<route>/requests`), the key's own
// two (`key/<route>`, `key/<route>/requests`), the daily quota (`daily`), and the calls in
// flight, for the tenant (`concurrency`) and for the route (`<route>/concurrency`). Route keys
// cannot contain "/", so no two names collide.

import type { BucketLimits } from "./token-bucket";

/** The name of the daily quota policy in headers and reports. No route may take it. */
export const DAILY_POLICY = "daily";
/** The name of the tenant's calls-in-flight policy. No route may take it. */
export const CONCURRENCY_POLICY = "concurrency";
/**
 * Most units one call may cost, settle to or report. A bucket counts 60,000 ticks a token,
 * and this keeps every bucket quantity an exact integer (10^9 x 60,000 < 2^53).
 */
export const MAX_CALL_UNITS = 1_000_000_000;

/** The route used when the route table matches nothing. */
export const DEFAULT_ROUTE = "default";

/**
 * The two buckets' figures. A bucket given only one of its two numbers uses it for both
 * (burst = rate: a minute's worth); given neither, it is not there.
 */
export interface BucketFields {
  /** Units bucket: units added per minute (0: a fixed allowance that never refills). */
  ratePerMinute?: number | null;
  /** Units bucket: capacity. */
  burst?: number | null;
  /** Request bucket: calls added per minute. */
  requestsPerMinute?: number | null;
  /** Request bucket: capacity. */
  requestBurst?: number | null;
}

export interface RouteOverride extends BucketFields {
  /** Units a call costs before it is settled. */
  cost?: number;
  /** Calls to this route in flight at once. */
  maxConcurrent?: number | null;
}

/** A key's own limits, applied to each route apart (`key/<route>`, `key/<route>/requests`). */
export type KeyLimits = BucketFields;

export interface TenantLimits {
  /** The units bucket of every route; null (with burst null): none. */
  ratePerMinute: number | null;
  burst: number | null;
  /** The request bucket of every route; absent or null: none. */
  requestsPerMinute?: number | null;
  requestBurst?: number | null;
  /** Calls in flight for the whole tenant; absent or null: no cap. */
  maxConcurrent?: number | null;
  /** Units per day, or null for no daily limit. */
  dailyUnits: number | null;
  timeZone: string;
  /** Evaluate and report, but never block. */
  shadow: boolean;
  /**
   * Lease mode (issue 18, docs/architecture.md "Token leases"): a gateway may admit this
   * tenant's calls from units and requests leased from the limiter, without a round trip per
   * call. Absent or false: exact mode, every call checked by the limiter.
   */
  leases?: boolean;
  routes: Record<string, RouteOverride>;
  /** Fractions of the daily quota whose crossing sends a `quota.threshold` webhook. */
  alerts?: { thresholds: number[] };
  /** The limits of keys that have their own, by the key's SHA-256 hex. */
  keys?: Record<string, KeyLimits>;
  /** An operator's temporary change, in force until `until`; then these limits apply again. */
  override?: LimitsOverride;
}

/** The fields an override may change: the limits, not the calendar or the price. */
export type OverrideQuota = Partial<
  Pick<
    TenantLimits,
    | "ratePerMinute"
    | "burst"
    | "requestsPerMinute"
    | "requestBurst"
    | "maxConcurrent"
    | "dailyUnits"
    | "shadow"
    | "routes"
  >
>;

export interface LimitsOverride {
  quota: OverrideQuota;
  /** Ms since the epoch; from then on the override is gone. */
  until: number;
}

/**
 * The limits in force at `now`: with the override's fields in place of the tenant's while it
 * lasts (in a route it names, the fields it gives; so raising a route's burst keeps its cost),
 * else the tenant's own. Every decision starts here, so an override reverts on its own at
 * `until`, with no one to remove it.
 */
export function limitsAt(limits: TenantLimits, now: number): TenantLimits {
  const o = limits.override;
  if (!o) return limits;
  const { override: _, ...base } = limits;
  if (now >= o.until) return base;
  const { routes, ...fields } = o.quota;
  if (!routes) return { ...base, ...fields };
  const merged = { ...base.routes };
  for (const [route, entry] of Object.entries(routes)) merged[route] = { ...base.routes[route], ...entry };
  return { ...base, ...fields, routes: merged };
}

/** One bucket a call takes from. */
export interface BucketPolicy {
  /** The policy's name in headers and `violated-policies`. */
  name: string;
  /** Where its state is kept: the name, with the key's hash for a key's bucket. */
  stateKey: string;
  kind: "units" | "requests";
  limits: BucketLimits;
}

/** One calls-in-flight cap a reserved call takes a slot of. */
export interface ConcurrencyPolicy {
  name: string;
  /** null: the tenant's cap; else the route whose calls it counts. */
  route: string | null;
  max: number;
}

/**
 * A record's own entry. Route keys come from configuration, and one named like an
 * Object.prototype member ("constructor", "toString") must not find that member.
 */
export function own<T>(record: Record<string, T> | undefined, key: string): T | undefined {
  return record && Object.hasOwn(record, key) ? record[key] : undefined;
}

const given = (n: number | null | undefined): n is number => typeof n === "number";

/** A bucket from its two numbers, either of which stands in for a missing other; null without both. */
function bucketOf(rate: number | null | undefined, burst: number | null | undefined): BucketLimits | null {
  if (given(burst)) return { ratePerMinute: given(rate) ? rate : burst, burst };
  if (given(rate)) return rate > 0 ? { ratePerMinute: rate, burst: rate } : null;
  return null;
}

/** The units bucket of `route`: the route's numbers, else the tenant's; null when it has none. */
export function unitsBucket(limits: TenantLimits, route: string): BucketLimits | null {
  const o = own(limits.routes, route);
  return bucketOf(o?.ratePerMinute ?? limits.ratePerMinute, o?.burst ?? limits.burst);
}

/** The request bucket of `route`: the route's numbers, else the tenant's; null when it has none. */
export function requestBucket(limits: TenantLimits, route: string): BucketLimits | null {
  const o = own(limits.routes, route);
  return bucketOf(o?.requestsPerMinute ?? limits.requestsPerMinute, o?.requestBurst ?? limits.requestBurst);
}

/** The state key of a key's bucket: per key, so two keys of one tenant never share one. */
const keyStateKey = (keyHash: string, name: string) => `key/${keyHash}/${name}`;

/** Every bucket a call to `route` with the key `keyHash` takes from, units before requests. */
export function bucketPolicies(limits: TenantLimits, route: string, keyHash?: string): BucketPolicy[] {
  const out: BucketPolicy[] = [];
  const units = unitsBucket(limits, route);
  if (units) out.push({ name: route, stateKey: route, kind: "units", limits: units });
  const requests = requestBucket(limits, route);
  const requestsName = `${route}/requests`;
  if (requests) out.push({ name: requestsName, stateKey: requestsName, kind: "requests", limits: requests });
  const key = keyHash === undefined ? undefined : own(limits.keys, keyHash);
  if (key && keyHash !== undefined) {
    const ku = bucketOf(key.ratePerMinute, key.burst);
    if (ku) out.push({ name: `key/${route}`, stateKey: keyStateKey(keyHash, route), kind: "units", limits: ku });
    const kr = bucketOf(key.requestsPerMinute, key.requestBurst);
    const krName = `key/${route}/requests`;
    if (kr)
      out.push({ name: krName, stateKey: keyStateKey(keyHash, `${route}/requests`), kind: "requests", limits: kr });
  }
  return out;
}

/** The calls-in-flight caps a reserved call to `route` takes a slot of: the tenant's, then the route's. */
export function concurrencyPolicies(limits: TenantLimits, route: string): ConcurrencyPolicy[] {
  const out: ConcurrencyPolicy[] = [];
  if (given(limits.maxConcurrent)) out.push({ name: CONCURRENCY_POLICY, route: null, max: limits.maxConcurrent });
  const perRoute = own(limits.routes, route)?.maxConcurrent;
  if (given(perRoute)) out.push({ name: `${route}/concurrency`, route, max: perRoute });
  return out;
}

/** Whether a reserved call to `route` meets any calls-in-flight cap (counting them costs a store a query). */
export const hasConcurrency = (limits: TenantLimits, route: string) => concurrencyPolicies(limits, route).length > 0;

/** The cost of one call to `route`: the tenant's override, else the route table's, else 1. */
export function routeCost(limits: TenantLimits, route: string, tableCost?: number): number {
  return own(limits.routes, route)?.cost ?? tableCost ?? 1;
}
