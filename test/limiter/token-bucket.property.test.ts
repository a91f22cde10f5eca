import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  adjustTicks,
  type BucketState,
  forceTakeTokens,
  TICKS_PER_TOKEN,
  takeTokens,
} from "../../src/core/token-bucket";

const limitsArb = fc.record({
  ratePerMinute: fc.integer({ min: 0, max: 5_000 }),
  burst: fc.integer({ min: 1, max: 500 }),
});
const stepsArb = fc.array(
  fc.record({ dt: fc.integer({ min: 0, max: 10_000 }), cost: fc.integer({ min: 0, max: 50 }) }),
  {
    minLength: 1,
    maxLength: 200,
  },
);

describe("token bucket", () => {
  it("never admits more than burst + rate x elapsed", () => {
    fc.assert(
      fc.property(limitsArb, stepsArb, fc.integer({ min: 0, max: 2 ** 40 }), (limits, steps, t0) => {
        let state: BucketState | undefined;
        let now = t0;
        let admitted = 0;
        for (const { dt, cost } of steps) {
          now += dt;
          const r = takeTokens(state, limits, cost, now);
          if (r.ok) admitted += cost;
          state = r.state;
          // Exact in integers: admitted x 60000 <= burst x 60000 + rate x elapsed ms, 60000 being
          // ms per minute (written out: the code's TICKS_PER_TOKEN would move with a bug in it).
          expect(admitted * 60_000).toBeLessThanOrEqual(limits.burst * 60_000 + limits.ratePerMinute * (now - t0));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("admits a call whenever the bucket holds enough tokens", () => {
    fc.assert(
      fc.property(limitsArb, stepsArb, (limits, steps) => {
        let state: BucketState | undefined;
        let now = 1_000_000;
        for (const { dt, cost } of steps) {
          now += dt;
          const before = takeTokens(state, limits, 0, now).remaining;
          const r = takeTokens(state, limits, cost, now);
          expect(r.ok).toBe(cost <= before);
          state = r.state;
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a rejected call leaves the state exactly as it was", () => {
    fc.assert(
      fc.property(limitsArb, stepsArb, (limits, steps) => {
        let state: BucketState | undefined;
        let now = 0;
        for (const { dt, cost } of steps) {
          now += dt;
          const r = takeTokens(state, limits, cost, now);
          if (!r.ok) expect(r.state).toBe(state);
          state = r.state;
        }
      }),
    );
  });

  it("cost 0 peeks without changing the state", () => {
    fc.assert(
      fc.property(limitsArb, stepsArb, (limits, steps) => {
        let state: BucketState | undefined;
        let now = 0;
        for (const { dt, cost } of steps) {
          now += dt;
          state = takeTokens(state, limits, cost, now).state;
          const peek = takeTokens(state, limits, 0, now + dt);
          expect(peek.ok).toBe(true);
          expect(peek.state).toBe(state);
        }
      }),
    );
  });

  it("a refund is exact, even after the bucket refilled", () => {
    fc.assert(
      fc.property(
        limitsArb,
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 120_000 }),
        (limits, reserved, actualSeed, elapsed) => {
          fc.pre(reserved <= limits.burst);
          const actual = actualSeed % (reserved + 1);
          const t0 = 5_000_000;
          const viaReservation = takeTokens(undefined, limits, reserved, t0).state;
          const settled = adjustTicks(viaReservation, limits, (reserved - actual) * TICKS_PER_TOKEN, t0 + elapsed);
          const direct = takeTokens(undefined, limits, actual, t0).state;
          const level = (s: BucketState | undefined) => takeTokens(s, limits, 0, t0 + elapsed).remaining;
          expect(level(settled)).toBe(level(direct));
          expect(takeTokens(settled, limits, 0, t0 + elapsed + 7_777).remaining).toBe(
            takeTokens(direct, limits, 0, t0 + elapsed + 7_777).remaining,
          );
        },
      ),
    );
  });

  it("a charge beyond the reservation leaves the bucket in debt", () => {
    const limits = { ratePerMinute: 60, burst: 10 };
    const reserved = takeTokens(undefined, limits, 10, 0).state;
    const charged = adjustTicks(reserved, limits, -5 * TICKS_PER_TOKEN, 0);
    expect(charged.ticks).toBe(-5 * TICKS_PER_TOKEN);
    // 60/min is one token per second: 5 s repays the debt, the sixth second earns a token.
    expect(takeTokens(charged, limits, 1, 5_999).ok).toBe(false);
    expect(takeTokens(charged, limits, 1, 6_000).ok).toBe(true);
  });

  it("a forced (shadow) take floors at zero and never forgives a debt", () => {
    const limits = { ratePerMinute: 0, burst: 10 };
    const partial = forceTakeTokens(takeTokens(undefined, limits, 7, 0).state, limits, 5, 0);
    expect(partial).toEqual({ state: { ticks: 0, at: 0 }, takenTicks: 3 * TICKS_PER_TOKEN });
    const indebted = adjustTicks(partial.state, limits, -4 * TICKS_PER_TOKEN, 0);
    const again = forceTakeTokens(indebted, limits, 5, 0);
    expect(again.state.ticks).toBe(-4 * TICKS_PER_TOKEN);
    expect(again.takenTicks).toBe(0);
  });

  it("says exactly when a rejected call could succeed, and never sooner", () => {
    fc.assert(
      fc.property(
        limitsArb,
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 100 }),
        (limits, cost, drain) => {
          fc.pre(limits.ratePerMinute > 0 && cost <= limits.burst);
          const start = takeTokens(undefined, limits, Math.min(drain, limits.burst), 0).state;
          const r = takeTokens(start, limits, cost, 0);
          if (r.ok) return;
          const wait = r.retryAfterMs ?? Number.NaN;
          expect(takeTokens(start, limits, cost, wait).ok).toBe(true);
          if (wait > 0) expect(takeTokens(start, limits, cost, wait - 1).ok).toBe(false);
        },
      ),
    );
  });

  it("reports that a cost above the burst, or any wait with no refill, never succeeds", () => {
    expect(takeTokens(undefined, { ratePerMinute: 60, burst: 5 }, 6, 0).retryAfterMs).toBeNull();
    const empty = takeTokens(undefined, { ratePerMinute: 0, burst: 5 }, 5, 0).state;
    expect(takeTokens(empty, { ratePerMinute: 0, burst: 5 }, 1, 10 ** 9).retryAfterMs).toBeNull();
  });

  it("refills nothing when the clock moves backwards", () => {
    const limits = { ratePerMinute: 600, burst: 10 };
    const s = takeTokens(undefined, limits, 10, 100_000).state;
    const back = takeTokens(s, limits, 1, 50_000);
    expect(back.ok).toBe(false);
    expect(back.remaining).toBe(0);
  });
});
