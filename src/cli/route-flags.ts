// A route's own limits from the CLI's flags (`quotas route`), and the table that shows them.

import type { ResolvedQuota, RouteOverride } from "../client/types";
import { type Flags, limitFields, UsageError } from "./flags";
import { table } from "./table";

/** Each route flag and the field it sets; `none` drops it, so the tenant's number applies. */
const ROUTE_FLAGS = {
  rate: "ratePerMinute",
  burst: "burst",
  rpm: "requestsPerMinute",
  "request-burst": "requestBurst",
  "max-concurrent": "maxConcurrent",
  cost: "cost",
} as const;

type Routes = ResolvedQuota["routes"];

/**
 * The quota's routes with the flags applied to `route`: what they do not name stays, `none`
 * drops a field, `--clear` the whole entry. A route left with no field of its own is dropped.
 */
export function routesPatch(flags: Flags, route: string): (routes: Routes) => Routes {
  const changes = limitFields(flags, ROUTE_FLAGS);
  const named = Object.keys(changes).length > 0;
  if (flags.clear === true) {
    if (named) throw new UsageError("quotas route takes --clear, or route flags, not both");
    return (routes) => Object.fromEntries(Object.entries(routes).filter(([r]) => r !== route));
  }
  if (!named) {
    const names = Object.keys(ROUTE_FLAGS).map((f) => `--${f}`);
    throw new UsageError(`quotas route needs ${names.join(", ")} (N or none), or --clear`);
  }
  return (routes) => {
    const entry: Record<string, unknown> = { ...routes[route], ...changes };
    for (const [field, v] of Object.entries(entry)) if (v === null || v === undefined) delete entry[field];
    const rest = Object.entries(routes).filter(([r]) => r !== route);
    return Object.fromEntries(Object.keys(entry).length > 0 ? [...rest, [route, entry as RouteOverride]] : rest);
  };
}

/** The routes' own limits, a row each; "-" where the route takes the tenant's. */
export function routesTable(routes: Routes): string {
  const rows = Object.entries(routes).map(([route, r]) => [
    route,
    r.ratePerMinute,
    r.burst,
    r.requestsPerMinute,
    r.requestBurst,
    r.maxConcurrent,
    r.cost,
  ]);
  return table(["route", "rate/min", "burst", "rpm", "req burst", "max concurrent", "cost"], rows);
}
