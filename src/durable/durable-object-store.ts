// The LimiterStore backed by TenantLimiter Durable Objects: one RPC per decision, per batch of
// one tenant's settles, or per lease report.

import { assertLeaseAsk, assertLeaseReport } from "../core/lease-grant";
import type { LimiterStore } from "../core/limiter-store";
import { assertSettleBatch } from "../core/settle-batch";
import { assertDimensions, assertModel } from "../core/usage-dimensions";
import type { TenantLimiterObject } from "./tenant-limiter";

/**
 * Routes each tenant to the Durable Object named by its tenant id. Usage dimensions no event
 * may carry are refused here, before the round trip (the object refuses them too).
 */
export function durableObjectStore(namespace: DurableObjectNamespace<TenantLimiterObject>): LimiterStore {
  const stub = (tenantId: string) => namespace.get(namespace.idFromName(tenantId));
  return {
    check: async (tenantId, request) => {
      assertModel(request.model);
      if (request.lease) assertLeaseAsk(request.lease);
      return stub(tenantId).check(request);
    },
    settle: async (tenantId, reservationId, units, metadata, usage) => {
      assertDimensions(usage);
      return stub(tenantId).settle(reservationId, units, metadata, usage);
    },
    settleMany: async (tenantId, items) => {
      assertSettleBatch(items);
      return stub(tenantId).settleMany(items);
    },
    reportLease: async (tenantId, report) => {
      assertLeaseReport(report);
      return stub(tenantId).reportLease(report);
    },
    record: async (tenantId, request) => {
      const { model, inputTokens, outputTokens, cachedInputTokens } = request;
      assertDimensions({ model, inputTokens, outputTokens, cachedInputTokens });
      return stub(tenantId).record(request);
    },
    limits: (tenantId, request) => stub(tenantId).limits(request),
    apply: (snapshot) => stub(snapshot.tenantId).apply(snapshot),
    load: (tenantId) => stub(tenantId).load(),
  };
}
