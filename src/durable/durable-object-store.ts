// The LimiterStore backed by TenantLimiter Durable Objects: one RPC per decision.

import type { LimiterStore } from "../core/limiter-store";
import type { TenantLimiterObject } from "./tenant-limiter";

/** Routes each tenant to the Durable Object named by its tenant id. */
export function durableObjectStore(namespace: DurableObjectNamespace<TenantLimiterObject>): LimiterStore {
  const stub = (tenantId: string) => namespace.get(namespace.idFromName(tenantId));
  return {
    check: (tenantId, request) => stub(tenantId).check(request),
    settle: (tenantId, reservationId, units, metadata) => stub(tenantId).settle(reservationId, units, metadata),
    record: (tenantId, request) => stub(tenantId).record(request),
    limits: (tenantId, request) => stub(tenantId).limits(request),
    apply: (snapshot) => stub(snapshot.tenantId).apply(snapshot),
    load: (tenantId) => stub(tenantId).load(),
  };
}
