// How the CLI shows a tenant's quota, prices and today's usage (`quotas get`, `tenants get`).

import type { PriceBook, Tenant, Usage } from "../client/types";
import { dayOf } from "../core/calendar";
import { describeOverride } from "./override-flags";
import { describeBook } from "./price-commands";
import { bucket } from "./quota-flags";
import { routesTable } from "./route-flags";
import { usageTable } from "./usage-table";

/** "rate 60/min, burst 60", or "none": a bucket's numbers as the limiter applies them. */
function describeBucket(rate: number | null, burst: number | null, what: string): string {
  if (rate === null && burst === null) return "none";
  const [r, b] = bucket(rate, burst);
  return `${r} ${what}/min, burst ${b}`;
}

/** Every field of the tenant's quota as it applies, a line each; its routes; and any override. */
export function describeQuota(t: Tenant): string {
  const q = t.quota;
  const alerts = q.alerts.thresholds.join(", ") || "none";
  const lines = [
    `units bucket:    ${describeBucket(q.ratePerMinute, q.burst, "units")}`,
    `request bucket:  ${describeBucket(q.requestsPerMinute, q.requestBurst, "calls")}`,
    `max concurrent:  ${q.maxConcurrent ?? "none"}`,
    `daily quota:     ${q.dailyUnits === null ? "none" : `${q.dailyUnits} units, from midnight in ${q.timeZone}`}`,
    `time zone:       ${q.timeZone}`,
    `shadow mode:     ${q.shadow ? "on (limits report, never block)" : "off"}`,
    `lease mode:      ${q.leases ? "on (gateways admit from leased units)" : "off (exact)"}`,
    `quota alerts at: ${alerts}${q.alerts.inherited ? " (QUOTA_ALERT_THRESHOLDS)" : ""}`,
    `unit price:      ${q.unitPrice ?? "default (BILLING_UNIT_COST)"}`,
  ];
  const routes = Object.keys(q.routes).length;
  lines.push(
    routes === 0
      ? "routes:          none of their own (each takes the tenant's limits)"
      : `routes:          ${routes} with limits of their own ("-": the tenant's)\n${routesTable(q.routes)}`,
  );
  lines.push(describeOverride(t) || "override:        none");
  return lines.join("\n");
}

/** The prices that apply to the tenant: its own, and the global book for what they leave out. */
export function describePrices(tenantId: string, own: PriceBook, global: PriceBook): string {
  if (own.prices.length === 0) return `${tenantId} is on the global price book\n${describeBook(global, undefined)}`;
  if (global.prices.length === 0) return describeBook(own, tenantId);
  return `${describeBook(own, tenantId)}\nin the dimensions they leave out: ${describeBook(global, undefined)}`;
}

/**
 * Today's usage by route and model, and its totals. Usage is kept per UTC day, while the daily
 * quota counts from midnight in the tenant's time zone: the heading names both days, so that
 * the one is not taken for the other.
 */
export function describeUsageToday(u: Usage, timeZone: string, now: number): string {
  const quotaDay = timeZone === "UTC" ? "" : `; the daily quota's day is ${dayOf(now, timeZone)} in ${timeZone}`;
  const head = `usage today (${u.from}, UTC${quotaDay})`;
  return u.days.length === 0 ? `${head}: none` : `${head}:\n${usageTable(u)}`;
}
