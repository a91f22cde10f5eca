// The shifted clock the suite can run on (AEGIS_TEST_NOW): it must read the chosen instant
// and advance from it, and refuse an instant that would hold Durable Object alarms back.

import { describe, expect, it } from "vitest";
import { offsetFor, shiftClock } from "../support/test-clock";

describe("the test run's shifted clock", () => {
  it("starts 30 s before the last UTC midnight for AEGIS_TEST_NOW=midnight", () => {
    const real = Date.UTC(2026, 10, 30, 14, 5, 7);
    expect(real + offsetFor("midnight", real)).toBe(Date.UTC(2026, 10, 29, 23, 59, 30));
    expect(offsetFor("2026-11-30T10:00:00Z", real)).toBe(Date.UTC(2026, 10, 30, 10) - real);
    expect(offsetFor(undefined, real)).toBe(0);
  });

  it("refuses an instant in the future, or one it cannot read", () => {
    const real = Date.UTC(2026, 10, 30, 14);
    expect(() => offsetFor("2026-11-30T15:00:00Z", real)).toThrow(/in the past/);
    expect(() => offsetFor("yesterday", real)).toThrow(/ISO instant/);
  });

  it("shifts Date.now() and new Date(), and leaves dates built from a value alone", () => {
    // Start from the real clock, even in a run that is itself shifted, and put it back after.
    const outer = globalThis.Date;
    const shifted = (outer as { shiftedBy?: number }).shiftedBy !== undefined;
    // A shifted Date's prototype is the real one's: its constructor is the real Date.
    const real = outer.prototype.constructor;
    globalThis.Date = shifted ? (real as DateConstructor) : outer;
    try {
      expectShiftedByADay();
    } finally {
      globalThis.Date = outer;
    }
  });
});

function expectShiftedByADay(): void {
  const before = Date.now();
  shiftClock(-86_400_000);
  const after = Date.now();
  expect(before - after).toBeGreaterThanOrEqual(86_400_000 - 1_000);
  expect(before - after).toBeLessThanOrEqual(86_400_000 + 1_000);
  const made = new Date();
  expect(Math.abs(made.valueOf() - Date.now())).toBeLessThan(1_000);
  expect(new Date(0).toISOString()).toBe("1970-01-01T00:00:00.000Z");
  expect(new Date("2026-01-02T03:04:05Z").getTime()).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
  expect(new Date(2026, 0, 2) instanceof Date).toBe(true);
  // Called without new, and for dates the shift did not make (a structured clone's).
  expect(Math.abs(Date.parse(Date()) - Date.now())).toBeLessThan(2_000);
  expect(structuredClone(new Date()) instanceof Date).toBe(true);
}
