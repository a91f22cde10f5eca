// Differential: a memory store's settleMany equals the same settles one after another, on a
// twin store given the same calls at the same (injected) clock: the results, the counters
// (limits()), the usage events (units, dimensions, merged metadata, occurredAt) and the quota
// alerts. Reservations, actual units, batch times (some past the reservations' expiry, some
// past midnight) and batch contents (duplicates, unknown ids) are random.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dayOf } from "../../src/core/calendar";
import type { SettleItem } from "../../src/core/limiter-store";
import type { TenantLimits } from "../../src/core/limits";
import { type MemoryStore, memoryStore } from "../../src/core/memory-store";
import type { UsageEvent } from "../../src/core/usage-event";
import { limits } from "./test-limits";

const TENANT = "tnaaaaaaaaaaaaaaac";
const KEY = "c".repeat(64);
const TTL_MS = 600_000;
// Ten minutes before midnight in each zone, so that a batch can land on the next day.
const STARTS = [
  { timeZone: "UTC", start: Date.UTC(2026, 5, 15, 23, 50) },
  { timeZone: "Asia/Kolkata", start: Date.UTC(2026, 5, 15, 18, 20) },
];

const limitsArb = fc.record({
  ratePerMinute: fc.integer({ min: 0, max: 600 }),
  burst: fc.integer({ min: 20, max: 400 }),
  dailyUnits: fc.option(fc.integer({ min: 40, max: 600 }), { nil: null }),
  alerts: fc.constant({ thresholds: [0.5, 0.8, 1] as number[] }),
  routes: fc.constant<TenantLimits["routes"]>({ chat: { ratePerMinute: 120, burst: 60 } }),
});
const reservationsArb = fc.array(
  fc.record({
    dt: fc.integer({ min: 0, max: 90_000 }),
    cost: fc.integer({ min: 0, max: 40 }),
    route: fc.constantFrom("default", "chat"),
    metadata: fc.option(fc.record({ model: fc.constantFrom("m1", "m2"), tag: fc.string({ maxLength: 3 }) }), {
      nil: undefined,
    }),
    model: fc.option(fc.constantFrom("m1", "m2"), { nil: undefined }),
  }),
  { minLength: 1, maxLength: 25 },
);
const itemsArb = fc.array(
  fc.record({
    // An index into the reservations made (taken modulo their count), or -1: an id never issued.
    pick: fc.integer({ min: -1, max: 40 }),
    units: fc.integer({ min: 0, max: 80 }),
    metadata: fc.option(fc.record({ finish: fc.constantFrom("stop", "length") }), { nil: undefined }),
    usage: fc.option(
      fc.record({ inputTokens: fc.integer({ min: 0, max: 50 }), outputTokens: fc.integer({ min: 0, max: 50 }) }),
      { nil: undefined },
    ),
  }),
  { minLength: 0, maxLength: 30 },
);

async function twin(l: TenantLimits, start: number) {
  const clock = { ms: start };
  const store = memoryStore({ now: () => clock.ms, reservationTtlMs: TTL_MS });
  await store.apply({ tenantId: TENANT, version: 1, status: "active", limits: l, keyHashes: [KEY] });
  return { clock, store };
}

/** What a store has said and emitted, with the random event ids left out. */
async function observed(store: MemoryStore) {
  const report = await store.limits(TENANT, { keyHash: KEY, routes: ["chat", "default"] });
  const events = store.drainUsage().map(({ eventId, ...rest }: UsageEvent) => rest);
  return { report, events, alerts: store.drainAlerts(), sizes: store.sizes() };
}

describe("memory store settleMany", () => {
  it("equals the same settles in sequence: results, counters, events and alerts", async () => {
    const seen = { alerts: 0, expired: 0, duplicate: 0, unknown: 0, nextDay: 0, settled: 0 };
    await fc.assert(
      fc.asyncProperty(
        limitsArb,
        fc.constantFrom(...STARTS),
        reservationsArb,
        fc.integer({ min: 0, max: 900_000 }),
        itemsArb,
        async (partial, { timeZone, start }, reservations, settleAfter, picks) => {
          const l = limits({ ...partial, timeZone });
          const batch = await twin(l, start);
          const sequence = await twin(l, start);
          const ids: [string, string][] = [];
          for (const r of reservations) {
            const request = { keyHash: KEY, route: r.route, cost: r.cost, reserve: true, metadata: r.metadata };
            batch.clock.ms += r.dt;
            sequence.clock.ms = batch.clock.ms;
            const a = await batch.store.check(TENANT, { ...request, model: r.model });
            const b = await sequence.store.check(TENANT, { ...request, model: r.model });
            expect(a.status === "ok" && a.decision).toEqual(b.status === "ok" && b.decision);
            if (a.status === "ok" && a.reservation && b.status === "ok" && b.reservation) {
              ids.push([a.reservation.id, b.reservation.id]);
            }
          }
          // Drained before the batch, so that what follows compares the settles alone (and
          // before the clock moves, or this would sweep what the batch is to find expired).
          expect(await observed(batch.store)).toEqual(await observed(sequence.store));
          batch.clock.ms += settleAfter;
          sequence.clock.ms = batch.clock.ms;

          const itemsFor = (side: 0 | 1): SettleItem[] =>
            picks.map((p) => {
              const pair = p.pick < 0 || ids.length === 0 ? undefined : ids[p.pick % ids.length];
              const reservationId = pair ? pair[side] : `never-issued-${p.pick}`;
              return { reservationId, units: p.units, metadata: p.metadata, usage: p.usage };
            });
          const many = await batch.store.settleMany(TENANT, itemsFor(0));
          const one: unknown[] = [];
          for (const i of itemsFor(1)) {
            one.push(await sequence.store.settle(TENANT, i.reservationId, i.units, i.metadata, i.usage));
          }
          expect(many).toEqual(one);
          const after = await observed(batch.store);
          expect(after).toEqual(await observed(sequence.store));
          seen.alerts += after.alerts.length;
          // What is left held is the same too: recorded alike once it expires.
          batch.clock.ms += TTL_MS;
          sequence.clock.ms = batch.clock.ms;
          expect(await observed(batch.store)).toEqual(await observed(sequence.store));

          const picked = picks.filter((p) => p.pick >= 0 && ids.length > 0).map((p) => p.pick % ids.length);
          seen.duplicate += Number(new Set(picked).size < picked.length);
          seen.unknown += many.filter((r) => r.status === "unknown").length;
          seen.expired += many.filter((r) => r.status === "expired").length;
          seen.settled += many.filter((r) => r.status === "settled").length;
          seen.nextDay += Number(dayOf(start, timeZone) !== dayOf(start + settleAfter, timeZone) && many.length > 0);
        },
      ),
      { numRuns: 150 },
    );
    // The runs covered what the property is about, not only empty or trivial batches.
    for (const [what, count] of Object.entries(seen)) expect(count, what).toBeGreaterThan(0);
  });
});
