// Calls in flight per tenant and route, for a store that keeps its reservations in memory.

import type { InFlight } from "./limiter";
import type { InFlightCounts } from "./limits-report";

export interface InFlightCounter {
  /** Moves the tenant's and the route's count by `by` (1 when a reservation is held, -1 when it ends). */
  add(tenantId: string, route: string, by: number): void;
  of(tenantId: string, route: string): InFlight;
  all(tenantId: string): InFlightCounts;
}

export function inFlightCounter(): InFlightCounter {
  const tenants = new Map<string, { tenant: number; routes: Map<string, number> }>();
  return {
    add(tenantId, route, by) {
      let t = tenants.get(tenantId);
      if (!t) {
        t = { tenant: 0, routes: new Map() };
        tenants.set(tenantId, t);
      }
      t.tenant += by;
      const n = (t.routes.get(route) ?? 0) + by;
      if (n > 0) t.routes.set(route, n);
      else t.routes.delete(route);
      // A tenant with nothing in flight keeps no entry, so made-up ids leave nothing behind.
      if (t.tenant <= 0) tenants.delete(tenantId);
    },
    of(tenantId, route) {
      const t = tenants.get(tenantId);
      return { tenant: t?.tenant ?? 0, route: t?.routes.get(route) ?? 0 };
    },
    all(tenantId) {
      const t = tenants.get(tenantId);
      return { tenant: t?.tenant ?? 0, routes: Object.fromEntries(t?.routes ?? []) };
    },
  };
}
