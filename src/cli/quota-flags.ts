// A tenant's quota from the CLI's flags, and the quota's columns in its tables.

import type { Quota, ResolvedQuota } from "../client/types";
import { type Flags, limitFields, str, UsageError } from "./flags";

/** Each limit flag and the quota field it sets; `none` sets it to null (no such limit). */
export const LIMIT_FLAGS = {
  rate: "ratePerMinute",
  burst: "burst",
  rpm: "requestsPerMinute",
  "request-burst": "requestBurst",
  "max-concurrent": "maxConcurrent",
  daily: "dailyUnits",
} as const;

export const QUOTA_FLAGS = [...Object.keys(LIMIT_FLAGS), "tz", "shadow", "leases", "unit-price", "alerts"];

/** `--alerts 0.8,1`: the quota alert thresholds; `none` for none. The gateway checks each. */
function alertsOf(flags: Flags): { thresholds: number[] } | undefined {
  const v = str(flags, "alerts");
  if (v === undefined) return undefined;
  if (v === "none") return { thresholds: [] };
  const thresholds = v.split(",").map((t) => Number(t.trim()));
  if (thresholds.some((t) => !Number.isFinite(t))) throw new UsageError("--alerts is fractions such as 0.8,1, or none");
  return { thresholds };
}

export const hasQuotaFlags = (flags: Flags) => QUOTA_FLAGS.some((f) => flags[f] !== undefined);

/** A switch flag (`--shadow`, `--leases`): on or off; undefined when not given. */
function switchOf(flags: Flags, flag: "shadow" | "leases"): boolean | undefined {
  const v = str(flags, flag);
  if (v === undefined) return undefined;
  if (v !== "on" && v !== "off") throw new UsageError(`--${flag} is on or off`);
  return v === "on";
}

/**
 * `current` with the given flags changed. A PUT replaces the whole quota, so `quotas set`
 * passes the tenant's quota as it is, and what the flags do not mention (route overrides,
 * price, zone, shadow and lease mode, the other limits) is carried over; `tenants create`
 * passes {}, and the gateway's defaults fill what is left out.
 */
export function quotaPatch(flags: Flags, command: string): (current: Quota) => Quota {
  if (!hasQuotaFlags(flags)) {
    throw new UsageError(`${command} needs at least one of ${QUOTA_FLAGS.map((f) => `--${f}`).join(", ")}`);
  }
  // Every flag is checked before the gateway is asked anything.
  const limits = limitFields(flags, LIMIT_FLAGS);
  const tz = str(flags, "tz");
  const shadow = switchOf(flags, "shadow");
  const leases = switchOf(flags, "leases");
  const price = str(flags, "unit-price");
  const alerts = alertsOf(flags);
  return (current) => ({
    ...current,
    ...limits,
    ...(tz ? { timeZone: tz } : {}),
    ...(shadow !== undefined ? { shadow } : {}),
    ...(leases !== undefined ? { leases } : {}),
    ...(price ? { unitPrice: price === "default" ? null : price } : {}),
    ...(alerts ? { alerts } : {}),
  });
}

/**
 * A bucket's two numbers as the limiter applies them: one given stands for both (a minute's
 * worth), so a table never shows "none" for a number that is in force.
 */
export function bucket(rate: number | null, burst: number | null): [number | string, number | string] {
  if (rate === null && burst === null) return ["none", "none"];
  return [rate ?? burst ?? "none", burst ?? rate ?? "none"];
}

export const QUOTA_HEADERS = ["rate/min", "burst", "daily", "rpm", "req burst", "max concurrent"];

/** The quota's cells, in QUOTA_HEADERS' order; "none" where there is no such limit. */
export function quotaCells(q: ResolvedQuota): (number | string)[] {
  return [
    ...bucket(q.ratePerMinute, q.burst),
    q.dailyUnits ?? "none",
    ...bucket(q.requestsPerMinute, q.requestBurst),
    q.maxConcurrent ?? "none",
  ];
}
