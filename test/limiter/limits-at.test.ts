// limitsAt(): the limits in force at a time, with a temporary override applied while it lasts.

import { describe, expect, it } from "vitest";
import { limitsAt, type TenantLimits } from "../../src/core/limits";

const T0 = Date.UTC(2026, 11, 1, 12);
const quota: TenantLimits = {
  ratePerMinute: 600,
  burst: 100,
  requestsPerMinute: 60,
  dailyUnits: 10_000,
  timeZone: "UTC",
  shadow: false,
  routes: { chat: { burst: 50, cost: 3 }, embed: { requestsPerMinute: 5 } },
};
const overridden: TenantLimits = {
  ...quota,
  override: {
    quota: {
      dailyUnits: 50_000,
      requestsPerMinute: null,
      routes: { chat: { burst: 500 }, images: { maxConcurrent: 1 } },
    },
    until: T0 + 3_600_000,
  },
};

describe("limitsAt", () => {
  it("applies the override's fields while it lasts, and in a route only the fields it gives", () => {
    expect(limitsAt(overridden, T0)).toEqual({
      ...quota,
      dailyUnits: 50_000,
      requestsPerMinute: null,
      routes: { chat: { burst: 500, cost: 3 }, embed: { requestsPerMinute: 5 }, images: { maxConcurrent: 1 } },
    });
  });

  it("gives the quota back, without the override, from `until` on", () => {
    expect(limitsAt(overridden, T0 + 3_600_000 - 1).dailyUnits).toBe(50_000);
    expect(limitsAt(overridden, T0 + 3_600_000)).toEqual(quota);
    expect(limitsAt(quota, T0)).toBe(quota);
  });
});
