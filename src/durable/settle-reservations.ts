// The TenantLimiter's settles: a batch of reservations applied in one synchronous block, so
// the counters (written once), the quota alerts and every usage event commit together. The
// reservations are taken in one statement, and the events and alerts appended in another.

import type { LimiterState } from "../core/limiter";
import type { SettleItem, SettleResult } from "../core/limiter-store";
import type { TenantLimits } from "../core/limits";
import { assertSettleBatch, settleInOrder } from "../core/settle-batch";
import type { LimiterStorage } from "./limiter-storage";
import type { UsageRecorder } from "./usage-recorder";

export interface HeldTenant {
  tenantId: string;
  now: number;
  state: LimiterState;
  /** Null when the object holds no config for the tenant: every reservation is recorded at its estimate. */
  limits: TenantLimits | null;
}

/** Applies the batch and answers its results with the state to keep (already written). */
export function settleReservations(
  storage: LimiterStorage,
  outbox: UsageRecorder,
  tenant: HeldTenant,
  items: readonly SettleItem[],
): { results: SettleResult[]; state: LimiterState } {
  const { tenantId, now, state, limits } = tenant;
  assertSettleBatch(items);
  // Every reservation of the batch in one statement; a duplicate id finds it taken already.
  const held = storage.takeReservations(items.map((i) => i.reservationId));
  const take = (id: string) => {
    const r = held.get(id);
    held.delete(id);
    return r;
  };
  return outbox.batched(() => {
    const outcome = settleInOrder(
      {
        tenantId,
        now,
        held: limits ? { state, limits } : null,
        take,
        settled: (r, units, metadata, usage) => outbox.reservation(r, units, metadata, usage),
        expired: (r, metadata) => outbox.estimate(r, metadata),
      },
      items,
    );
    if (outcome.state) storage.writeState(state, outcome.state);
    for (const alert of outcome.alerts) outbox.alert(alert);
    return { results: outcome.results, state: outcome.state ?? state };
  });
}
