import { describe, expect, it } from "vitest";
import { closedPeriod, dayStart, periodContaining } from "../../src/core/billing-period";

describe("billing periods", () => {
  it("closes a month once its grace has passed, including months that end on the 28th to 31st", () => {
    expect(closedPeriod(Date.UTC(2026, 11, 1, 2, 0), "month", 2)).toEqual({ start: "2026-11-01", end: "2026-12-01" });
    // Within the grace, November is still open: the closed period is October.
    expect(closedPeriod(Date.UTC(2026, 11, 1, 1, 59), "month", 2)).toEqual({ start: "2026-10-01", end: "2026-11-01" });
    expect(closedPeriod(Date.UTC(2028, 2, 1, 3), "month", 2)).toEqual({ start: "2028-02-01", end: "2028-03-01" });
    expect(closedPeriod(Date.UTC(2027, 0, 1, 3), "month", 2)).toEqual({ start: "2026-12-01", end: "2027-01-01" });
  });

  it("closes a day once its grace has passed", () => {
    expect(closedPeriod(Date.UTC(2026, 10, 30, 2), "day", 2)).toEqual({ start: "2026-11-29", end: "2026-11-30" });
    expect(closedPeriod(Date.UTC(2026, 10, 30, 1), "day", 2)).toEqual({ start: "2026-11-28", end: "2026-11-29" });
    expect(closedPeriod(Date.UTC(2026, 10, 30, 0), "day", 0)).toEqual({ start: "2026-11-29", end: "2026-11-30" });
  });

  it("finds the period of an instant and reads days strictly", () => {
    expect(periodContaining(Date.UTC(2026, 1, 28, 23), "month")).toEqual({ start: "2026-02-01", end: "2026-03-01" });
    expect(dayStart("2026-02-29")).toBeNull();
    expect(dayStart("2028-02-29")).toBe(Date.UTC(2028, 1, 29));
    expect(dayStart("2026-1-01")).toBeNull();
  });
});
