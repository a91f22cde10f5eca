// The memory store's reservations, with the calls in flight they hold for the concurrency
// caps: held by a reserved check, released by a settle or by the sweep once expired.

import { inFlightCounter } from "./in-flight";
import type { HeldUnits } from "./limiter";
import type { UsageMetadata } from "./usage-event";

export interface HeldReservation extends HeldUnits {
  id: string;
  tenantId: string;
  expiresAt: number;
  reservedAt: number;
  metadata?: UsageMetadata;
  /** The check's model, for the event of a reservation recorded at its estimate. */
  model?: string | null;
}

export function memoryReservations() {
  // In insertion order, which is expiry order under a constant TTL, so a sweep reads from the
  // front and stops at the first live entry. A clock that steps back can put an entry behind
  // a later-expiring one: it is swept at most that step late.
  const held = new Map<string, HeldReservation>();
  // Reservations held per tenant and route: the calls in flight that the concurrency caps count.
  const slots = inFlightCounter();

  function release(key: string): HeldReservation | undefined {
    const r = held.get(key);
    if (!r) return undefined;
    held.delete(key);
    slots.add(r.tenantId, r.route, -1);
    return r;
  }

  return {
    hold(key: string, r: HeldReservation): void {
      held.set(key, r);
      slots.add(r.tenantId, r.route, 1);
    },
    release,
    /** Releases and returns the reservations expired at `at`, oldest first. */
    expired(at: number): HeldReservation[] {
      const out: HeldReservation[] = [];
      for (const [key, r] of held) {
        if (r.expiresAt > at) break;
        release(key);
        out.push(r);
      }
      return out;
    },
    inFlight: (tenantId: string, route: string) => slots.of(tenantId, route),
    allInFlight: (tenantId: string) => slots.all(tenantId),
    size: () => held.size,
  };
}
