// The memory store beyond the conformance suite: its usage events, their delivery, and its
// bounded state. Every clock is injected; nothing sleeps.

import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { guardedStore } from "../../src/core/guarded-store";
import type { TenantSnapshot } from "../../src/core/limiter-store";
import type { TenantLimits } from "../../src/core/limits";
import { DEFAULT_RESERVATION_TTL_MS, type MemoryStoreOptions, memoryStore } from "../../src/core/memory-store";
import { idempotentEventId, type UsageEvent } from "../../src/core/usage-event";
import { limits } from "./test-limits";

/** 2026-06-15 10:00 UTC. */
const T0 = Date.UTC(2026, 5, 15, 10, 0, 0);
// The store's own figures, written out rather than imported: a test that read them from the
// code would pass whatever they became.
/** Reported usage's idempotency keys: 7 days. */
const IDEMPOTENCY_TTL_MS = 7 * 24 * 3_600_000;
/** An unknown tenant id is remembered for 30 s. */
const MISSING_TENANT_TTL_MS = 30_000;
/** At most 10,000 unknown tenant ids at once. */
const MISSING_TENANT_LIMIT = 10_000;
const TENANT = "tnaaaaaaaaaaaaaaab";
const KEY = "a".repeat(64);

const snapshot = (l: Partial<TenantLimits> = {}, s: Partial<TenantSnapshot> = {}): TenantSnapshot => ({
  tenantId: TENANT,
  version: 1,
  status: "active",
  limits: limits(l),
  keyHashes: [KEY],
  ...s,
});

async function setup(l: Partial<TenantLimits> = {}, options: MemoryStoreOptions = {}) {
  const clock = { ms: T0 };
  const store = memoryStore({ now: () => clock.ms, ...options });
  await store.apply(snapshot(l));
  const check = (cost: number, extra: { reserve?: boolean; metadata?: Record<string, string> } = {}) =>
    store.check(TENANT, { keyHash: KEY, route: "chat", cost, ...extra });
  const reserve = async (cost: number, metadata?: Record<string, string>) => {
    const r = await check(cost, { reserve: true, metadata });
    if (r.status !== "ok" || !r.reservation) throw new Error(`expected a reservation, got ${r.status}`);
    return r.reservation;
  };
  return { clock, store, check, reserve };
}

describe("memory store", () => {
  it("holds a reservation for RESERVATION_TTL_SECONDS's default, and refuses a bad TTL when built", async () => {
    expect(DEFAULT_RESERVATION_TTL_MS).toBe(loadConfig({}).RESERVATION_TTL_SECONDS * 1000);
    const { reserve } = await setup();
    expect((await reserve(1)).expiresAt).toBe(T0 + DEFAULT_RESERVATION_TTL_MS);
    expect(() => memoryStore({ reservationTtlMs: 0 })).toThrow(RangeError);
  });

  it("meters an admitted call with units once, and a peek, a rejection or a reservation not at all", async () => {
    const { store, check } = await setup({ burst: 5 });
    await check(2, { metadata: { model: "m1", "": "dropped" } });
    await check(0);
    await check(9);
    await check(3, { reserve: true });
    const events = store.drainUsage();
    expect(events).toEqual([
      {
        eventId: expect.stringMatching(/^ev_/),
        tenantId: TENANT,
        route: "chat",
        units: 2,
        occurredAt: T0,
        metadata: { model: "m1" },
        // The dimensions: one request, its model (from the metadata, where callers put it so far), no tokens.
        model: "m1",
        requests: 1,
        inputTokens: 0,
        outputTokens: 0,
        cachedInputTokens: 0,
      },
    ]);
    expect(store.drainUsage()).toEqual([]);
  });

  it("meters a call shadow mode admitted over its limits", async () => {
    const { store, check } = await setup({ burst: 1, shadow: true });
    await check(1);
    const over = await check(1);
    expect(over).toMatchObject({ status: "ok", decision: { allowed: true, shadowed: true } });
    expect(store.drainUsage().map((e) => e.units)).toEqual([1, 1]);
  });

  it("emits one event per settled reservation, at the units used, the reservation's time and both metadata", async () => {
    const { clock, store, reserve } = await setup();
    const r = await reserve(10, { model: "m1", job: "a" });
    clock.ms = T0 + 5_000;
    expect(await store.settle(TENANT, r.id, 4, { job: "b", tokens: "4" })).toEqual({ status: "settled", units: 4 });
    expect(await store.settle(TENANT, r.id, 4)).toEqual({ status: "unknown" });
    const events = store.drainUsage();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      tenantId: TENANT,
      route: "chat",
      units: 4,
      occurredAt: T0,
      metadata: { model: "m1", job: "b", tokens: "4" },
    });
  });

  it("records an expired reservation once, at its estimate: when settled late, or when swept", async () => {
    const { clock, store, reserve } = await setup();
    const late = await reserve(7);
    const idle = await reserve(3);
    clock.ms = T0 + DEFAULT_RESERVATION_TTL_MS;
    expect(await store.settle(TENANT, late.id, 1)).toEqual({ status: "expired" });
    expect(
      store
        .drainUsage()
        .map((e) => e.units)
        .sort((a, b) => a - b),
    ).toEqual([3, 7]);
    // The sweep recorded the idle one: it is gone, and settling it now is unknown, as after the DO's alarm.
    expect(await store.settle(TENANT, idle.id, 1)).toEqual({ status: "unknown" });
    expect(store.sweep()).toBe(0);
    expect(store.drainUsage()).toEqual([]);
  });

  it("emits one event per recorded report, with its idempotent id and time; a duplicate or a limited one, none", async () => {
    const { store } = await setup({ dailyUnits: 50 });
    const report = (idempotencyKey: string, units: number) =>
      store.record(TENANT, {
        keyHash: KEY,
        idempotencyKey,
        units,
        route: "batch",
        occurredAt: T0 - 60_000,
        metadata: { job: idempotencyKey },
      });
    const first = await report("job-1", 30);
    await report("job-1", 30);
    expect(await report("job-2", 21)).toMatchObject({ status: "limited" });
    const eventId = await idempotentEventId(TENANT, "job-1");
    expect(first).toMatchObject({ status: "recorded", eventId });
    expect(store.drainUsage()).toEqual([
      {
        eventId,
        tenantId: TENANT,
        route: "batch",
        units: 30,
        occurredAt: T0 - 60_000,
        metadata: { job: "job-1" },
        model: null,
        requests: 1,
        inputTokens: 0,
        outputTokens: 0,
        cachedInputTokens: 0,
      },
    ]);
  });

  it("hands each event to onUsage and not to drainUsage", async () => {
    const delivered: UsageEvent[] = [];
    const { store, check, reserve } = await setup({}, { onUsage: (e) => void delivered.push(e) });
    await check(1);
    await store.settle(TENANT, (await reserve(2)).id, 2);
    await store.delivered();
    expect(delivered.map((e) => e.units)).toEqual([1, 2]);
    expect(store.drainUsage()).toEqual([]);
  });

  it("keeps an event for drainUsage when onUsage throws or rejects, and loses none", async () => {
    const delivered: number[] = [];
    const onUsage = (e: UsageEvent) => {
      if (e.units === 2) throw new Error("queue full");
      if (e.units === 3) return Promise.reject(new Error("queue down"));
      delivered.push(e.units);
      return Promise.resolve();
    };
    const { store, check } = await setup({}, { onUsage });
    for (const units of [1, 2, 3, 4]) await check(units);
    await store.delivered();
    expect(delivered).toEqual([1, 4]);
    expect(store.drainUsage().map((e) => e.units)).toEqual([2, 3]);
  });

  it("sweeps expired reservations, idempotency keys after 7 days and unknown tenants after 30 s", async () => {
    const { clock, store, reserve } = await setup({ dailyUnits: null });
    for (let i = 0; i < 50; i++) await reserve(1);
    for (let i = 0; i < 50; i++) {
      await store.record(TENANT, { idempotencyKey: `job-${i}`, units: 1, route: "batch", occurredAt: T0 });
    }
    expect(store.sizes()).toMatchObject({ tenants: 1, reservations: 50, idempotencyKeys: 50 });
    clock.ms = T0 + DEFAULT_RESERVATION_TTL_MS;
    expect(store.sweep()).toBe(50);
    expect(store.sizes()).toMatchObject({ reservations: 0, idempotencyKeys: 50, usage: 100 });
    // At 7 days the keys still hold; 1 ms later they are forgotten, and the same key records again.
    clock.ms = T0 + IDEMPOTENCY_TTL_MS;
    store.sweep();
    expect(store.sizes().idempotencyKeys).toBe(50);
    clock.ms = T0 + IDEMPOTENCY_TTL_MS + 1;
    expect(
      await store.record(TENANT, { idempotencyKey: "job-0", units: 1, route: "batch", occurredAt: T0 }),
    ).toMatchObject({
      status: "recorded",
    });
    expect(store.sizes().idempotencyKeys).toBe(1);

    const ghosts = memoryStore({ now: () => clock.ms, loadSnapshot: async () => null });
    for (let i = 0; i <= MISSING_TENANT_LIMIT; i++) await ghosts.load(`tn${String(i).padStart(16, "a")}`);
    expect(ghosts.sizes().missingTenants).toBe(MISSING_TENANT_LIMIT);
    clock.ms += MISSING_TENANT_TTL_MS;
    ghosts.sweep();
    expect(ghosts.sizes().missingTenants).toBe(0);
  });

  it("answers a tenant it was never given unauthenticated without a loader, even when it must not load", async () => {
    const store = memoryStore({ now: () => T0 });
    expect(await store.check(TENANT, { keyHash: KEY, route: "chat", loadIfCold: false })).toEqual({
      status: "unauthenticated",
    });
    await store.load(TENANT);
    expect(await store.check(TENANT, { keyHash: KEY, route: "chat" })).toEqual({ status: "unauthenticated" });
  });

  it("loads a cold tenant once however many calls wait for it, and prefers a newer push", async () => {
    let loads = 0;
    let release: (s: TenantSnapshot) => void = () => {};
    const store = memoryStore({
      now: () => T0,
      loadSnapshot: () => {
        loads++;
        return new Promise((resolve) => {
          release = resolve;
        });
      },
    });
    const calls = [1, 2, 3].map(() => store.check(TENANT, { keyHash: KEY, route: "chat", cost: 1 }));
    await store.apply(snapshot({ burst: 2 }, { version: 2 }));
    release(snapshot({ burst: 100 }));
    const results = await Promise.all(calls);
    expect(loads).toBe(1);
    expect(results.map((r) => r.status === "ok" && r.decision.allowed)).toEqual([true, true, false]);
  });

  it("answers late, consuming nothing, when the caller's deadline has passed on the real clock", async () => {
    // The store's clock is T0, months from the real one: the deadline is the caller's
    // (guardedStore sets it from Date.now()), so only the real clock can judge it.
    const { store } = await setup({ burst: 1 });
    const passed = Date.now() - 1;
    expect(await store.check(TENANT, { keyHash: KEY, route: "chat", deadline: passed })).toEqual({ status: "late" });
    const r = await store.check(TENANT, { keyHash: KEY, route: "chat", deadline: Date.now() + 60_000 });
    expect(r).toMatchObject({ status: "ok", decision: { allowed: true } });
    expect(store.drainUsage()).toHaveLength(1);
  });

  it("answers a bounded check in time when its own clock runs ahead of the real one", async () => {
    const clock = { ms: Date.now() + 3_600_000 };
    const store = memoryStore({ now: () => clock.ms });
    await store.apply(snapshot({ burst: 1 }));
    const bounded = guardedStore(store, 1_500, 5_000);
    const r = await bounded.check(TENANT, { keyHash: KEY, route: "chat" });
    expect(r).toMatchObject({ status: "ok", decision: { allowed: true } });
  });

  it("settles a suspended tenant's reservation, and never another tenant's", async () => {
    const { store, reserve } = await setup();
    const r = await reserve(5);
    await store.apply(snapshot({}, { version: 2, status: "suspended" }));
    expect(await store.settle("tnaaaaaaaaaaaaaaac", r.id, 1)).toEqual({ status: "unknown" });
    expect(await store.settle(TENANT, r.id, 2)).toEqual({ status: "settled", units: 2 });
    expect(store.drainUsage().map((e) => e.units)).toEqual([2]);
  });
});
