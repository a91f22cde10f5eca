// The memory store's settles: one or many reservations of a tenant, applied in order with no
// await between them, as the Durable Object applies a batch in one transaction.

import type { HeldUnits } from "./limiter";
import { reconcile } from "./limiter";
import { assertUnits } from "./limiter-rules";
import type { SettleItem, SettleResult } from "./limiter-store";
import type { MemoryTenants } from "./memory-tenants";
import { type QuotaAlert, stateWithAlerts } from "./quota-alerts";
import { assertDimensions, estimatedDimensions } from "./usage-dimensions";
import type { UsageDimensions, UsageMetadata } from "./usage-event";

/** A held reservation, as much of it as a settle reads. */
export interface SettledReservation extends HeldUnits {
  expiresAt: number;
  model?: string | null;
}

export interface MemorySettleParts<R extends SettledReservation> {
  now: () => number;
  tenants: Pick<MemoryTenants, "held">;
  /** Removes the tenant's reservation and returns it, if it is held. */
  take(tenantId: string, reservationId: string): R | undefined;
  /** Records the reservations expired at `at`, as the store's sweep does. */
  sweepAt(at: number): unknown;
  emitReservation(r: R, units: number, metadata: UsageMetadata | undefined, usage: UsageDimensions): void;
  emitAlert(alert: QuotaAlert): void;
}

/**
 * The settles in order, each as a settle alone would apply it (so a batch equals the same
 * settles in sequence): the tenant's state is kept, and its alerts emitted, once at the end.
 * The alerts are folded item by item, so a charge that crosses a threshold fires it, with the
 * `used` at that point, even when a later refund in the batch takes the count back under.
 * Every item is validated before any is applied.
 */
export function memorySettles<R extends SettledReservation>(parts: MemorySettleParts<R>) {
  return function settleBatch(tenantId: string, items: SettleItem[]): SettleResult[] {
    for (const item of items) {
      assertUnits(item.units);
      assertDimensions(item.usage);
    }
    const at = parts.now();
    const tenant = parts.tenants.held(tenantId);
    let state = tenant?.state;
    const alerts: QuotaAlert[] = [];
    const results = items.map(({ reservationId, units, metadata, usage }): SettleResult => {
      const reservation = parts.take(tenantId, reservationId);
      parts.sweepAt(at);
      if (!reservation) return { status: "unknown" };
      if (reservation.expiresAt <= at || !tenant || !state) {
        parts.emitReservation(reservation, reservation.units, metadata, estimatedDimensions(reservation.model));
        return { status: "expired" };
      }
      const { limits } = tenant.snapshot;
      const next = stateWithAlerts(tenantId, state, reconcile(state, limits, reservation, units, at), limits, at);
      state = next.state;
      alerts.push(...next.alerts);
      parts.emitReservation(reservation, units, metadata, usage ?? {});
      return { status: "settled", units };
    });
    if (tenant && state) tenant.state = state;
    for (const alert of alerts) parts.emitAlert(alert);
    return results;
  };
}
