// Reading usage back: a tenant's daily rollup over a range of UTC days.

import { and, asc, eq, gte, lt, sql } from "drizzle-orm";
import { DAY_MS, isoDay } from "../core/calendar";
import type { Database } from "../db/database";
import { usageDaily } from "../db/schema";

/** Longest range one query may span. */
export const MAX_USAGE_DAYS = 366;

export interface UsageReport {
  tenantId: string;
  from: string;
  to: string;
  days: { day: string; route: string; units: number; requests: number }[];
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

/**
 * The tenant's units and requests per day and route, from `from` (inclusive) to `to`
 * (exclusive), summed over models (the rollup's rows are per model; reads per model and
 * dimension come with the v2 usage read).
 */
export async function dailyUsage(db: Database, tenantId: string, from: string, to: string): Promise<UsageReport> {
  const rows = await db
    .select({
      day: usageDaily.day,
      route: usageDaily.route,
      units: sql<string>`sum(${usageDaily.units})`,
      requests: sql<string>`sum(${usageDaily.requests})`,
    })
    .from(usageDaily)
    .where(and(eq(usageDaily.tenantId, tenantId), gte(usageDaily.day, from), lt(usageDaily.day, to)))
    .groupBy(usageDaily.day, usageDaily.route)
    .orderBy(asc(usageDaily.day), asc(usageDaily.route));
  const days = rows.map((r) => ({ day: r.day, route: r.route, units: Number(r.units), requests: Number(r.requests) }));
  return { tenantId, from, to, days, totalUnits: days.reduce((sum, r) => sum + r.units, 0) };
}
