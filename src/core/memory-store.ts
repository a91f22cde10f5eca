// memoryStore: the LimiterStore in one process's memory, for tests and single-process
// embedding (one Node process, no Redis, no Durable Objects).
//
// The decisions are src/core's (decide, decideReported, reconcile, describeLimits), and the
// semantics are the TenantLimiter Durable Object's; the conformance suite holds it to them.
// It differs only where one process's memory is not a Durable Object:
// - Tenants come from apply() and, for a tenant the store does not hold, options.loadSnapshot
//   (without it, a tenant never applied is unauthenticated). A held snapshot is never
//   reloaded: a push is a function call and cannot go missing, so no refresh stands behind
//   it. allowStale changes nothing, as in the DO: a config once held is always used.
// - The DO's alarm is a sweep run by every call, by drainUsage() and by sweep(): it records
//   reservations that expired unsettled at their estimate, and forgets idempotency keys
//   after 7 days and unknown tenant ids after 30 s. Nothing runs between calls; an embedder
//   that wants expired reservations billed while the store is idle calls sweep() on a timer.
// - options.now is the limits' clock; a check's deadline is read on the real clock, as the
//   DO and the Redis store read it, since the caller (guardedStore) sets it from Date.now().
//
// Usage events (each metered event, where the DO writes its outbox) and quota alerts go to
// options.onUsage / onAlert at once, not awaited, or are kept for drainUsage() / drainAlerts()
// when there is no callback or it fails: each reaches exactly one of the two, once.
// delivered() waits for the callbacks in flight.

import { dayOf } from "./calendar";
import { decide, decideReported, describeLimits, type LimiterState } from "./limiter";
import { assertUnits, DEFAULT_RESERVATION_TTL_SECONDS, IDEMPOTENCY_TTL_MS } from "./limiter-rules";
import type {
  CheckRequest,
  CheckResult,
  LimitsResult,
  RecordRequest,
  RecordResult,
  SettleResult,
  TenantSnapshot,
} from "./limiter-store";
import { limitsAt, routeCost, type TenantLimits } from "./limits";
import { memoryLeases } from "./memory-leases";
import { type HeldReservation, memoryReservations } from "./memory-reservations";
import { memorySettles } from "./memory-settle";
import type { MemoryStore, MemoryStoreOptions } from "./memory-store-api";
import { memoryTenants } from "./memory-tenants";
import { type QuotaAlert, stateWithAlerts } from "./quota-alerts";
import { assertDimensions, assertModel, estimatedDimensions, eventDimensions } from "./usage-dimensions";
import {
  cleanMetadata,
  idempotentEventId,
  newEventId,
  type UsageDimensions,
  type UsageEvent,
  type UsageMetadata,
} from "./usage-event";
import { usageOutbox } from "./usage-outbox";

/** RESERVATION_TTL_SECONDS's default, in ms. */
export const DEFAULT_RESERVATION_TTL_MS = DEFAULT_RESERVATION_TTL_SECONDS * 1000;

export type { MemoryStore, MemoryStoreOptions } from "./memory-store-api";

/** A key per tenant: ids and idempotency keys come from callers, and one tenant's must not reach another's. */
const keyOf = (tenantId: string, id: string) => `${tenantId}\u0000${id}`;

/**
 * A LimiterStore in this process's memory, with the Durable Object's semantics.
 *
 * @example
 * const store = memoryStore({ now: () => clock.ms, onUsage: (event) => usage.push(event) });
 * await store.apply({ tenantId, version: 1, status: "active", limits, keyHashes: [await sha256Hex(key)] });
 * const result = await store.check(tenantId, { keyHash: await sha256Hex(key), route: "chat" });
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const now = options.now ?? Date.now;
  const ttlMs = options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new RangeError(`memoryStore: reservationTtlMs must be a whole number of ms above 0, got ${ttlMs}`);
  }
  const outbox = usageOutbox(options.onUsage);
  const alertOutbox = usageOutbox<QuotaAlert>(options.onAlert);

  /** Keeps `after` as the tenant's state, and emits the quota alerts the change from `before` crossed. */
  function keep(
    tenant: { state: LimiterState },
    tenantId: string,
    after: LimiterState,
    limits: TenantLimits,
    at: number,
  ) {
    const { state, alerts } = stateWithAlerts(tenantId, tenant.state, after, limits, at);
    tenant.state = state;
    for (const alert of alerts) alertOutbox.emit(alert);
  }
  const tenants = memoryTenants(now, options.loadSnapshot);
  const reservations = memoryReservations();
  // In insertion order, as the reservations are (memory-reservations.ts), so a sweep stops
  // at the first idempotency key still remembered.
  const idempotencyKeys = new Map<string, number>();

  function emit(event: UsageEvent, usage: UsageDimensions | undefined): void {
    const { metadata, ...rest } = event;
    const clean = cleanMetadata(metadata);
    const dimensions = eventDimensions(usage, clean);
    outbox.emit(clean ? { ...rest, ...dimensions, metadata: clean } : { ...rest, ...dimensions });
  }

  function emitReservation(
    r: HeldReservation,
    units: number,
    metadata: UsageMetadata | undefined,
    usage: UsageDimensions,
  ): void {
    const merged = r.metadata || metadata ? { ...r.metadata, ...metadata } : undefined;
    const event = { eventId: newEventId(), tenantId: r.tenantId, route: r.route, units, occurredAt: r.reservedAt };
    emit({ ...event, metadata: merged }, usage);
  }

  const leases = memoryLeases({
    ttlMs,
    keep: (tenantId, state, limits, at) => {
      const tenant = tenants.held(tenantId);
      if (tenant) keep(tenant, tenantId, state, limits, at);
    },
    emit: (tenantId, route, units, occurredAt, metadata, usage) =>
      emit({ eventId: newEventId(), tenantId, route, units, occurredAt, metadata }, usage),
  });

  function sweepAt(at: number): number {
    leases.sweepAt(at);
    let recorded = 0;
    for (const r of reservations.expired(at)) {
      emitReservation(r, r.units, undefined, estimatedDimensions(r.model));
      recorded++;
    }
    for (const [key, seenAt] of idempotencyKeys) {
      if (seenAt >= at - IDEMPOTENCY_TTL_MS) break;
      idempotencyKeys.delete(key);
    }
    tenants.sweep(at);
    return recorded;
  }

  /** The clock's time, after a sweep at it: every call that reads the clock keeps the store bounded. */
  function tick(): number {
    const at = now();
    sweepAt(at);
    return at;
  }

  const settleBatch = memorySettles({
    now,
    tenants,
    // Taken before the sweep, which would otherwise record it and answer "unknown": in the
    // DO too, a reservation settled after its expiry but before the alarm is "expired".
    take: (tenantId, id) => reservations.release(keyOf(tenantId, id)),
    sweepAt,
    emitReservation,
    emitAlert: (alert) => alertOutbox.emit(alert),
  });

  return {
    async check(tenantId: string, request: CheckRequest): Promise<CheckResult> {
      assertModel(request.model);
      leases.assertAsk(request.lease);
      const held = tenants.held(tenantId);
      if (!held && request.loadIfCold === false) {
        // Answer at once: the caller bounds the load apart from the check (see guardedStore).
        return tenants.loadable(tenantId) ? { status: "cold" } : { status: "unauthenticated" };
      }
      const auth = tenants.authorize(held ?? (await tenants.load(tenantId)), request.keyHash);
      if ("denied" in auth) return auth.denied;
      // No await from here on: the decision, its state and its usage event land together.
      const at = tick();
      // A cold load can outlast the caller's patience; a call it gave up on must cost nothing.
      // The deadline is the caller's, on the real clock (guardedStore sets it from Date.now()),
      // as in the DO and the Redis store; the store's own clock may be a test's.
      if (request.deadline !== undefined && Date.now() > request.deadline) return { status: "late" };
      const limits = limitsAt(auth.tenant.snapshot.limits, at);
      const cost = request.cost ?? routeCost(limits, request.route, request.defaultCost);
      assertUnits(cost);
      const { keyHash, route } = request;
      const reserve = request.reserve === true;
      const inFlight = reservations.inFlight(tenantId, route);
      const call = { keyHash, reserve, inFlight };
      const { decision, state, bucketTicks, keyTicks } = decide(auth.tenant.state, limits, route, cost, at, call);
      keep(auth.tenant, tenantId, state, limits, at);
      let reservation: { id: string; expiresAt: number } | undefined;
      let lease: ReturnType<typeof leases.grant>;
      // A reserved call is metered even at cost 0: it is settled to the units it used.
      if (decision.allowed && (cost > 0 || request.reserve)) {
        if (request.reserve) {
          reservation = { id: crypto.randomUUID(), expiresAt: at + ttlMs };
          reservations.hold(keyOf(tenantId, reservation.id), {
            ...reservation,
            tenantId,
            route,
            units: cost,
            bucketTicks,
            ...(keyHash !== undefined ? { keyHash, keyTicks } : {}),
            day: dayOf(at, limits.timeZone),
            reservedAt: at,
            // Cleaned now, so a held reservation keeps no more than its event may carry.
            metadata: cleanMetadata(request.metadata),
            model: request.model,
          });
        } else {
          const { metadata, model } = request;
          emit({ eventId: newEventId(), tenantId, route, units: cost, occurredAt: at, metadata }, { model });
        }
        if (!decision.shadowed) {
          const call = { route, keyHash, defaultCost: request.defaultCost, ask: request.lease };
          lease = leases.grant(tenantId, auth.tenant, limits, call, at);
        }
      }
      return {
        status: "ok",
        decision,
        reservation,
        ...(lease ? { lease } : {}),
      };
    },

    settle: async (tenantId, reservationId, units, metadata, usage) =>
      settleBatch(tenantId, [{ reservationId, units, metadata, usage }])[0] as SettleResult,

    settleMany: async (tenantId, items) => settleBatch(tenantId, items),

    async reportLease(tenantId, report) {
      const tenant = tenants.held(tenantId);
      const at = tick();
      const held = tenant && { state: tenant.state, limits: limitsAt(tenant.snapshot.limits, at) };
      return leases.report(tenantId, held, report, at);
    },

    async record(tenantId: string, request: RecordRequest): Promise<RecordResult> {
      assertUnits(request.units);
      const { model, inputTokens, outputTokens, cachedInputTokens } = request;
      const usage = { model, inputTokens, outputTokens, cachedInputTokens };
      assertDimensions(usage);
      const eventId = await idempotentEventId(tenantId, request.idempotencyKey);
      const auth = tenants.authorize(await tenants.load(tenantId), request.keyHash);
      if ("denied" in auth) return auth.denied;
      // From here to the return, nothing awaits: a duplicate check and its insert cannot interleave.
      const at = tick();
      const key = keyOf(tenantId, request.idempotencyKey);
      if (idempotencyKeys.has(key)) return { status: "duplicate", eventId };
      const { decision, state } = decideReported(
        auth.tenant.state,
        auth.tenant.snapshot.limits,
        request.route,
        request.units,
        at,
      );
      if (!decision.allowed) return { status: "limited", decision };
      keep(auth.tenant, tenantId, state, auth.tenant.snapshot.limits, at);
      idempotencyKeys.set(key, at);
      const { route, units, occurredAt, metadata } = request;
      emit({ eventId, tenantId, route, units, occurredAt, metadata }, usage);
      return { status: "recorded", eventId, decision };
    },

    async limits(tenantId: string, request: { keyHash?: string; routes: string[] }): Promise<LimitsResult> {
      const auth = tenants.authorize(await tenants.load(tenantId), request.keyHash);
      if ("denied" in auth) return auth.denied;
      const at = tick();
      const limits = limitsAt(auth.tenant.snapshot.limits, at);
      const routes = [...new Set([...request.routes, ...Object.keys(limits.routes)])];
      const context = { keyHash: request.keyHash, inFlight: reservations.allInFlight(tenantId) };
      const report = describeLimits(auth.tenant.state, limits, routes, at, context);
      return { status: "ok", limits: { tenantId, shadow: limits.shadow, ...report } };
    },

    async apply(snapshot: TenantSnapshot) {
      tenants.adopt(snapshot);
    },

    async load(tenantId: string) {
      await tenants.load(tenantId);
    },

    drainUsage() {
      sweepAt(now());
      return outbox.drain();
    },

    drainAlerts: () => alertOutbox.drain(),

    delivered: async () => {
      await Promise.all([outbox.delivered(), alertOutbox.delivered()]);
    },

    sweep: () => sweepAt(now()),

    sizes: () => ({
      ...tenants.sizes(),
      reservations: reservations.size(),
      leases: leases.size(),
      idempotencyKeys: idempotencyKeys.size,
      usage: outbox.size(),
    }),
  };
}
