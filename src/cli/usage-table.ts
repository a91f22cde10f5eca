// How the CLI shows usage rows and their totals: one table for `usage` and `tenants get`.

import type { Usage } from "../client/types";
import { table } from "./table";

/** The usage per day, route and model, every dimension, then a line of the totals. */
export function usageTable(u: Usage): string {
  const rows = u.days.map((d) => [
    d.day,
    d.route,
    d.model ?? "-",
    d.requests,
    d.inputTokens,
    d.outputTokens,
    d.cachedInputTokens,
    d.units,
    d.estimatedUnits,
  ]);
  const t = u.totals;
  return `${table(["day", "route", "model", "requests", "input", "output", "cached", "units", "estimated"], rows)}\ntotal ${t.units} units (${t.estimatedUnits} estimated): ${t.requests} requests, ${t.inputTokens} input tokens (${t.cachedInputTokens} cached), ${t.outputTokens} output tokens`;
}
