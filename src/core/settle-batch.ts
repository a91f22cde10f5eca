// One tenant's settles applied in order, as one step: the rule every backend's settleMany
// (and its single settle) follows, so a batch equals the same settles one after another.
// Pure: the backend hands in the tenant's state, and takes back the new state and the
// quota alerts to keep with it in the same write.

import type { HeldUnits, LimiterState } from "./limiter";
import { reconcile } from "./limiter";
import { assertUnits } from "./limiter-rules";
import type { SettleItem, SettleResult } from "./limiter-store";
import type { TenantLimits } from "./limits";
import { type QuotaAlert, stateWithAlerts } from "./quota-alerts";
import { assertDimensions } from "./usage-dimensions";
import type { UsageDimensions, UsageMetadata } from "./usage-event";

/**
 * The most settles one settleMany takes. A batch is applied in one step (a script on Redis,
 * one synchronous block on the Durable Object), which holds everything else of the limiter
 * back while it runs: a batch past this is a bug in the caller (the settle coalescer sends
 * 100 at most), refused before any of it is applied.
 */
export const MAX_SETTLE_BATCH = 1_000;

/** A held reservation, as much of it as a settle reads. */
export interface SettledReservation extends HeldUnits {
  expiresAt: number;
  model?: string | null;
}

export interface SettleBatchParts<R extends SettledReservation> {
  tenantId: string;
  now: number;
  /** The tenant's counters and limits; null when the limiter holds no config for it. */
  held: { state: LimiterState; limits: TenantLimits } | null;
  /** Removes the reservation and returns it, if it is held. */
  take(reservationId: string): R | null | undefined;
  /** Records a settled reservation's usage: `units` with the settle's breakdown. */
  settled(r: R, units: number, metadata: UsageMetadata | undefined, usage: UsageDimensions): void;
  /** Records a reservation past its expiry (or of a tenant with no config) at its estimate. */
  expired(r: R, metadata: UsageMetadata | undefined): void;
}

export interface SettleBatchOutcome {
  results: SettleResult[];
  /** The state after the batch; null when no config was held. */
  state: LimiterState | null;
  /** The quota alerts the batch crossed, to keep with the state. */
  alerts: QuotaAlert[];
}

/** Refuses a batch that is too large, or any item a settle would refuse, before any is applied. */
export function assertSettleBatch(items: readonly SettleItem[]): void {
  if (items.length > MAX_SETTLE_BATCH) {
    throw new RangeError(`a settle batch holds at most ${MAX_SETTLE_BATCH} items, got ${items.length}`);
  }
  for (const item of items) {
    assertUnits(item.units);
    assertDimensions(item.usage);
  }
}

/**
 * The settles in order. The alerts are folded item by item, so a charge that crosses a
 * threshold fires it, with the `used` at that point, even when a later refund in the batch
 * takes the count back under. A duplicate id answers "unknown" the second time, since the
 * first took it.
 */
export function settleInOrder<R extends SettledReservation>(
  parts: SettleBatchParts<R>,
  items: readonly SettleItem[],
): SettleBatchOutcome {
  assertSettleBatch(items);
  const { tenantId, now, held } = parts;
  let state = held?.state ?? null;
  const alerts: QuotaAlert[] = [];
  const results = items.map(({ reservationId, units, metadata, usage }): SettleResult => {
    const reservation = parts.take(reservationId);
    if (!reservation) return { status: "unknown" };
    if (reservation.expiresAt <= now || !held || !state) {
      parts.expired(reservation, metadata);
      return { status: "expired" };
    }
    const next = stateWithAlerts(
      tenantId,
      state,
      reconcile(state, held.limits, reservation, units, now),
      held.limits,
      now,
    );
    state = next.state;
    alerts.push(...next.alerts);
    parts.settled(reservation, units, metadata, usage ?? {});
    return { status: "settled", units };
  });
  return { results, state, alerts };
}
