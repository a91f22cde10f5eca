// The memory store's settles: one or many reservations of a tenant, applied in order with no
// await between them, as the Durable Object applies a batch in one transaction.

import type { SettleItem, SettleResult } from "./limiter-store";
import type { MemoryTenants } from "./memory-tenants";
import type { QuotaAlert } from "./quota-alerts";
import { type SettledReservation, settleInOrder } from "./settle-batch";
import { estimatedDimensions } from "./usage-dimensions";
import type { UsageDimensions, UsageMetadata } from "./usage-event";

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

/** The batch rule of settle-batch.ts on the memory store: its state is kept, and its alerts emitted, at the end. */
export function memorySettles<R extends SettledReservation>(parts: MemorySettleParts<R>) {
  return function settleBatch(tenantId: string, items: SettleItem[]): SettleResult[] {
    const at = parts.now();
    const tenant = parts.tenants.held(tenantId);
    const outcome = settleInOrder(
      {
        tenantId,
        now: at,
        held: tenant ? { state: tenant.state, limits: tenant.snapshot.limits } : null,
        take: (id) => {
          const reservation = parts.take(tenantId, id);
          parts.sweepAt(at);
          return reservation;
        },
        settled: (r, units, metadata, usage) => parts.emitReservation(r, units, metadata, usage),
        expired: (r, metadata) => parts.emitReservation(r, r.units, metadata, estimatedDimensions(r.model)),
      },
      items,
    );
    if (tenant && outcome.state) tenant.state = outcome.state;
    for (const alert of outcome.alerts) parts.emitAlert(alert);
    return outcome.results;
  };
}
