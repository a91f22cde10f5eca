import { describe, expect, it } from "vitest";
import { dayOf, isValidTimeZone, nextDayStart } from "../../src/core/calendar";
import { takeDaily } from "../../src/core/daily-quota";

describe("calendar days", () => {
  it("resets the daily quota at midnight UTC, under an injected clock", () => {
    const limits = { units: 10, timeZone: "UTC" };
    const beforeMidnight = Date.UTC(2026, 10, 29, 23, 59, 59, 999);
    const full = takeDaily(undefined, limits, 10, beforeMidnight);
    expect(full.ok).toBe(true);
    const rejected = takeDaily(full.state, limits, 1, beforeMidnight);
    expect(rejected.ok).toBe(false);
    expect(rejected.retryAfterMs).toBe(1);
    const afterMidnight = takeDaily(full.state, limits, 10, beforeMidnight + 1);
    expect(afterMidnight.ok).toBe(true);
    expect(afterMidnight.state?.day).toBe("2026-11-30");
  });

  it("finds the next local midnight across a daylight-saving change", () => {
    // New York springs forward on 2026-03-08; midnight of the 9th is 04:00 UTC, of the 8th 05:00 UTC.
    expect(new Date(nextDayStart(Date.UTC(2026, 2, 8, 12), "America/New_York")).toISOString()).toBe(
      "2026-03-09T04:00:00.000Z",
    );
    expect(new Date(nextDayStart(Date.UTC(2026, 2, 7, 12), "America/New_York")).toISOString()).toBe(
      "2026-03-08T05:00:00.000Z",
    );
    expect(new Date(nextDayStart(Date.UTC(2026, 0, 1, 0), "Asia/Kolkata")).toISOString()).toBe(
      "2026-01-01T18:30:00.000Z",
    );
    expect(dayOf(Date.UTC(2026, 0, 1, 18, 29), "Asia/Kolkata")).toBe("2026-01-01");
    expect(dayOf(Date.UTC(2026, 0, 1, 18, 30), "Asia/Kolkata")).toBe("2026-01-02");
  });

  it("keeps counting when the clock steps back over midnight", () => {
    const limits = { units: 5, timeZone: "UTC" };
    const tomorrow = takeDaily(undefined, limits, 5, Date.UTC(2026, 0, 2, 0, 0, 1)).state;
    expect(takeDaily(tomorrow, limits, 1, Date.UTC(2026, 0, 1, 23, 59)).ok).toBe(false);
  });

  it("validates time zone names", () => {
    expect(isValidTimeZone("Europe/Paris")).toBe(true);
    expect(isValidTimeZone("Mars/Olympus")).toBe(false);
  });
});
