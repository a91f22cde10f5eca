// The per-minute call counter behind the console's fleet page: each outcome in its minute,
// minutes rolling over, and nothing older than 60 minutes kept, with the clock moved by hand.

import { describe, expect, it } from "vitest";
import { CallRates, countingCalls, MINUTE_MS, RATE_MINUTES } from "../../src/core/call-rates";
import { type GatewayMetrics, NO_METRICS } from "../../src/core/gateway-metrics";

const T0 = Date.parse("2030-01-01T10:00:00Z");

function clocked(start: number) {
  let now = start;
  return { clock: () => now, set: (ms: number) => (now = ms) };
}

describe("calls per minute", () => {
  it("counts each outcome in the minute it happened, the current minute last", () => {
    const t = clocked(T0 + 5_000);
    const rates = new CallRates(t.clock);
    for (let i = 0; i < 3; i++) rates.record("admitted");
    rates.record("limited");
    rates.record("limited");
    rates.record("unauthorized");
    const hour = rates.lastHour();
    expect(hour).toHaveLength(RATE_MINUTES);
    const last = hour.at(-1);
    expect(last?.minute).toBe(T0);
    expect(last?.counts).toEqual({
      admitted: 3,
      limited: 2,
      unauthorized: 1,
      suspended: 0,
      limiter_unavailable: 0,
      rejected: 0,
    });
    expect(hour[0]?.minute).toBe(T0 - 59 * MINUTE_MS);
    expect(hour.slice(0, -1).every((m) => Object.values(m.counts).every((n) => n === 0))).toBe(true);
  });

  it("rolls over at the minute's end: the next minute starts from zero", () => {
    const t = clocked(T0 + 59_999);
    const rates = new CallRates(t.clock);
    rates.record("admitted");
    t.set(T0 + MINUTE_MS);
    rates.record("admitted");
    rates.record("limited");
    const hour = rates.lastHour();
    expect(hour.at(-1)).toMatchObject({ minute: T0 + MINUTE_MS, counts: { admitted: 1, limited: 1 } });
    expect(hour.at(-2)).toMatchObject({ minute: T0, counts: { admitted: 1, limited: 0 } });
  });

  it("keeps 60 minutes: a minute 60 minutes old is gone, and its slot counts the new minute only", () => {
    const t = clocked(T0);
    const rates = new CallRates(t.clock);
    rates.record("admitted");
    rates.record("admitted");
    t.set(T0 + 59 * MINUTE_MS);
    expect(rates.lastHour()[0]).toMatchObject({ minute: T0, counts: { admitted: 2 } });
    // The same ring slot as T0's minute.
    t.set(T0 + 60 * MINUTE_MS);
    expect(rates.lastHour()[0]?.minute).toBe(T0 + MINUTE_MS);
    expect(rates.lastHour().reduce((a, m) => a + m.counts.admitted, 0)).toBe(0);
    rates.record("limited");
    expect(rates.lastHour().at(-1)).toMatchObject({ counts: { admitted: 0, limited: 1 } });
  });

  it("shows an idle hour as zeros after a long gap", () => {
    const t = clocked(T0);
    const rates = new CallRates(t.clock);
    rates.record("suspended");
    t.set(T0 + 1000 * MINUTE_MS);
    const hour = rates.lastHour();
    expect(hour.map((m) => m.counts.suspended)).toEqual(new Array(RATE_MINUTES).fill(0));
    expect(hour.at(-1)?.minute).toBe(T0 + 1000 * MINUTE_MS);
  });

  it("counts the calls the metrics port is told of, and passes them on", () => {
    const t = clocked(T0);
    const rates = new CallRates(t.clock);
    const seen: string[] = [];
    const inner: GatewayMetrics = {
      ...NO_METRICS,
      call: (route, outcome, policy) => seen.push(`${route} ${outcome} ${policy}`),
    };
    const metrics = countingCalls(inner, rates);
    metrics.call("chat", "admitted");
    metrics.call("chat", "limited", "daily");
    metrics.tokens("chat", "m", "input", 5);
    expect(seen).toEqual(["chat admitted undefined", "chat limited daily"]);
    expect(rates.lastHour().at(-1)?.counts).toMatchObject({ admitted: 1, limited: 1 });
  });
});
