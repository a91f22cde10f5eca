// Reading usage back: a tenant's daily rollup over a range of UTC days, per route and model.

import { and, asc, eq, gte, lt } from "drizzle-orm";
import { DAY_MS, isoDay } from "../core/calendar";
import type { Database } from "../db/database";
import { usageDaily } from "../db/schema";

/** Longest range one query may span. */
export const MAX_USAGE_DAYS = 366;

export interface UsageReport {
  tenantId: string;
  from: string;
  to: string;
  days: ({ day: string; route: string; model: string | null } & UsageTotals)[];
  totals: UsageTotals;
  /** totals.units, kept for readers of the v1 shape. */
  totalUnits: number;
}

/**
 * The range a query asked for, with the defaults filled in (`to`: tomorrow, so today is
 * included; `from`: 30 days before `to`), or an error message for a range that makes no sense.
 */
export function usageRange(query: { from?: string; to?: string }, now: number): { from: string; to: string } | string {
  const to = query.to ?? isoDay(Math.floor(now / DAY_MS) * DAY_MS + DAY_MS);
  const from = query.from ?? isoDay(Date.parse(`${to}T00:00:00Z`) - 30 * DAY_MS);
  const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS;
  if (span <= 0) return `'from' (${from}) must be before 'to' (${to}); 'to' is exclusive`;
  if (span > MAX_USAGE_DAYS) return `a range spans at most ${MAX_USAGE_DAYS} days; this one spans ${span}`;
  return { from, to };
}

/** The dimensions a usage row and its totals carry. */
export interface UsageTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  units: number;
  /** Of `requests`, those whose upstream reported no usage: their units are the gateway's estimate. */
  estimatedRequests: number;
  /** Of `units`, those that are the gateway's estimate. */
  estimatedUnits: number;
}

export const ZERO_TOTALS: UsageTotals = {
  requests: 0,
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  units: 0,
  estimatedRequests: 0,
  estimatedUnits: 0,
};

/**
 * The tenant's usage per day, route and model, every dimension, from `from` (inclusive) to
 * `to` (exclusive), with totals per dimension. `model` is null when the upstream named none.
 */
export async function dailyUsage(db: Database, tenantId: string, from: string, to: string): Promise<UsageReport> {
  const rows = await db
    .select({
      day: usageDaily.day,
      route: usageDaily.route,
      model: usageDaily.model,
      requests: usageDaily.requests,
      inputTokens: usageDaily.inputTokens,
      outputTokens: usageDaily.outputTokens,
      cachedInputTokens: usageDaily.cachedInputTokens,
      units: usageDaily.units,
      estimatedRequests: usageDaily.estimatedRequests,
      estimatedUnits: usageDaily.estimatedUnits,
    })
    .from(usageDaily)
    .where(and(eq(usageDaily.tenantId, tenantId), gte(usageDaily.day, from), lt(usageDaily.day, to)))
    .orderBy(asc(usageDaily.day), asc(usageDaily.route), asc(usageDaily.model));
  const days = rows.map((r) => ({ ...r, model: r.model === "" ? null : r.model }));
  const totals = { ...ZERO_TOTALS };
  for (const d of days) for (const k of Object.keys(totals) as (keyof UsageTotals)[]) totals[k] += d[k];
  return { tenantId, from, to, days, totals, totalUnits: totals.units };
}
