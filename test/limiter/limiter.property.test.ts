import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dayOf } from "../../src/core/calendar";
import { decide, type LimiterState, reconcile } from "../../src/core/limiter";
import type { TenantLimits } from "../../src/core/limits";

// Every tenant here has a units bucket, which the settle property below reads the level of.
const limitsArb: fc.Arbitrary<TenantLimits & { burst: number }> = fc.record({
  ratePerMinute: fc.integer({ min: 0, max: 3_000 }),
  burst: fc.integer({ min: 1, max: 200 }),
  dailyUnits: fc.option(fc.integer({ min: 0, max: 500 }), { nil: null }),
  timeZone: fc.constantFrom("UTC", "America/New_York", "Asia/Kolkata"),
  shadow: fc.constant(false),
  routes: fc.constant({ chat: { ratePerMinute: 30, burst: 5 } }),
});
const callsArb = fc.array(
  fc.record({
    dt: fc.integer({ min: 0, max: 3_600_000 }),
    cost: fc.integer({ min: 0, max: 40 }),
    route: fc.constantFrom("default", "chat"),
  }),
  { minLength: 1, maxLength: 150 },
);
const empty: LimiterState = { buckets: {}, daily: undefined };

describe("limiter decision", () => {
  it("a rejected call changes no policy's state", () => {
    fc.assert(
      fc.property(limitsArb, callsArb, (limits, calls) => {
        let state = empty;
        let now = Date.UTC(2026, 10, 29, 20);
        for (const c of calls) {
          now += c.dt;
          const r = decide(state, limits, c.route, c.cost, now);
          if (!r.decision.allowed) {
            expect(r.state).toBe(state);
            expect(r.decision.violated.length).toBeGreaterThan(0);
          }
          state = r.state;
        }
      }),
      { numRuns: 300 },
    );
  });

  it("never admits more than the daily quota on any day", () => {
    fc.assert(
      fc.property(limitsArb, callsArb, (limits, calls) => {
        const perDay = new Map<string, number>();
        let state = empty;
        let now = Date.UTC(2026, 10, 29, 23);
        for (const c of calls) {
          now += c.dt;
          const r = decide(state, limits, c.route, c.cost, now);
          if (r.decision.allowed) {
            const day = dayOf(now, limits.timeZone);
            perDay.set(day, (perDay.get(day) ?? 0) + c.cost);
          }
          state = r.state;
        }
        if (limits.dailyUnits !== null)
          for (const used of perDay.values()) expect(used).toBeLessThanOrEqual(limits.dailyUnits);
      }),
      { numRuns: 300 },
    );
  });

  it("settling a reservation equals having taken the actual units in the first place", () => {
    fc.assert(
      fc.property(
        limitsArb,
        callsArb,
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 80 }),
        (limits, calls, reserved, actual) => {
          let state = empty;
          let now = Date.UTC(2026, 5, 1, 8);
          for (const c of calls.slice(0, 20)) {
            now += c.dt % 10_000;
            state = decide(state, limits, c.route, c.cost, now).state;
          }
          const r = decide(state, limits, "default", reserved, now);
          fc.pre(r.decision.allowed);
          const settled = reconcile(
            r.state,
            limits,
            { route: "default", units: reserved, bucketTicks: r.bucketTicks, day: dayOf(now, limits.timeZone) },
            actual,
            now,
          );
          const peek = (s: LimiterState) => decide(s, limits, "default", 0, now).decision.policies;
          if (actual <= reserved) {
            // A refund lands exactly where a direct take of `actual` would have.
            const direct = decide(state, limits, "default", actual, now);
            expect(direct.decision.allowed).toBe(true);
            expect(peek(settled)).toEqual(peek(direct.state));
          } else {
            // A charge is exact too: both counters moved by the full actual units.
            const daily = (s: LimiterState) => s.daily?.used ?? 0;
            expect(daily(settled) - daily(state)).toBe(actual);
            const level = (s: LimiterState) => s.buckets.default?.ticks ?? limits.burst * 60_000;
            const before = decide(state, limits, "default", 0, now).decision.policies[0]?.remaining ?? 0;
            expect(level(settled)).toBe(level(r.state) - (actual - reserved) * 60_000);
            expect(Math.floor(level(settled) / 60_000)).toBeLessThanOrEqual(before - reserved);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("shadow mode admits what the limits reject, reports the violation and counts the usage", () => {
    const limits: TenantLimits = {
      ratePerMinute: 0,
      burst: 2,
      dailyUnits: 3,
      timeZone: "UTC",
      shadow: true,
      routes: {},
    };
    let state = empty;
    const results = [];
    for (let i = 0; i < 4; i++) {
      const r = decide(state, limits, "default", 1, 1_000);
      results.push(r.decision);
      state = r.state;
    }
    expect(results.map((d) => d.allowed)).toEqual([true, true, true, true]);
    expect(results.map((d) => d.shadowed)).toEqual([false, false, true, true]);
    expect(results[2]?.violated).toEqual(["default"]);
    expect(results[3]?.violated).toEqual(["default", "daily"]);
    expect(state.daily?.used).toBe(4);
    expect(state.buckets.default?.ticks).toBe(0);
  });

  it("settling a shadow-mode reservation refunds no more than it took from the bucket", () => {
    const limits: TenantLimits = {
      ratePerMinute: 0,
      burst: 5,
      dailyUnits: null,
      timeZone: "UTC",
      shadow: true,
      routes: {},
    };
    const drained = decide(empty, limits, "default", 3, 0);
    const over = decide(drained.state, limits, "default", 5, 0);
    expect(over.decision.shadowed).toBe(true);
    expect(over.bucketTicks).toBe(2 * 60_000);
    const settled = reconcile(
      over.state,
      limits,
      { route: "default", units: 5, bucketTicks: over.bucketTicks, day: "1970-01-01" },
      0,
      0,
    );
    // Back to the 2 tokens that were there before the shadowed call, not 5.
    expect(decide(settled, limits, "default", 0, 0).decision.policies[0]?.remaining).toBe(2);
  });

  it("treats route keys named like Object.prototype members as ordinary routes", () => {
    const limits: TenantLimits = {
      ratePerMinute: 0,
      burst: 2,
      dailyUnits: null,
      timeZone: "UTC",
      shadow: false,
      routes: {},
    };
    let state = empty;
    const outcomes = [];
    for (let i = 0; i < 3; i++) {
      const r = decide(state, limits, "constructor", 1, 0);
      outcomes.push(r.decision.allowed);
      state = r.state;
    }
    expect(outcomes).toEqual([true, true, false]);
    expect(decide(state, limits, "toString", 1, 0).decision.policies[0]).toMatchObject({
      name: "toString",
      remaining: 1,
    });
  });

  it("a settle after midnight charges the extra units to the new day and drops a refund for the old one", () => {
    const limits: TenantLimits = {
      ratePerMinute: 0,
      burst: 100,
      dailyUnits: 1_000,
      timeZone: "UTC",
      shadow: false,
      routes: {},
    };
    const before = Date.UTC(2026, 10, 29, 23, 59);
    const after = Date.UTC(2026, 10, 30, 0, 1);
    const r = decide(empty, limits, "default", 10, before);
    const held = { route: "default", units: 10, bucketTicks: r.bucketTicks, day: "2026-11-29" };
    const charged = reconcile(r.state, limits, held, 25, after);
    expect(charged.daily).toEqual({ day: "2026-11-30", used: 15 });
    const refunded = reconcile(r.state, limits, held, 4, after);
    expect(refunded.daily).toEqual({ day: "2026-11-29", used: 10 });
  });

  it("admits a call only when every policy admits it", () => {
    const limits: TenantLimits = {
      ratePerMinute: 0,
      burst: 10,
      dailyUnits: 3,
      timeZone: "UTC",
      shadow: false,
      routes: {},
    };
    const first = decide(empty, limits, "default", 3, 0);
    expect(first.decision.allowed).toBe(true);
    const second = decide(first.state, limits, "default", 1, 0);
    expect(second.decision.allowed).toBe(false);
    expect(second.decision.violated).toEqual(["daily"]);
    // The bucket still had 7 tokens, and the rejection took none of them.
    expect(second.decision.policies[0]).toMatchObject({ name: "default", remaining: 7 });
  });
});
